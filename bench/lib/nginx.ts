/**
 * nginx as a plain reverse proxy, the reference peer of the bench: one worker (or
 * `worker_processes auto`, one per core, for the worker-mode comparison), keep-alive
 * upstream pools, `proxy_buffering off` (SSE must stream), no access log, each route on its
 * own free loopback port, everything (config, pid, logs, temp files) in a temp folder.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./ports.js";
import { pinnedArgv } from "./procs.js";

/** One upstream nginx fronts; nginx adds the upstream key, as the gateway does. */
export interface NginxRoute {
  upstreamUrl: string;
  apiKey: string;
}

export interface RunningNginx {
  /** Base URL per route, in the order given. */
  readonly urls: string[];
  readonly pid: number;
  stop(): Promise<void>;
}

/** The configuration text (exported for tests and for the README). */
export function nginxConfig(dir: string, routes: ReadonlyArray<NginxRoute & { port: number }>, runAsRoot: boolean, workers: NginxWorkers = 1): string {
  const upstreams = routes.map((r, i) => `  upstream u${i} { server ${new URL(r.upstreamUrl).host}; keepalive 128; }`);
  const servers = routes.map(
    (r, i) => `  server {
    listen 127.0.0.1:${r.port};
    location / {
      proxy_pass http://u${i};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header x-api-key "${r.apiKey}";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }`,
  );
  return `${runAsRoot ? "user root root;\n" : ""}worker_processes ${workers};
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${upstreams.join("\n")}
${servers.join("\n")}
}
`;
}

/** `worker_processes`: a count, or `auto` (one per core). */
export type NginxWorkers = number | "auto";

/** Starts nginx (on `cpus` if given); rejects if it does not listen within 10 s. */
export async function startNginx(routes: readonly NginxRoute[], cpus: string | undefined, workers: NginxWorkers = 1): Promise<RunningNginx> {
  for (const r of routes) if (!/^[A-Za-z0-9._~-]+$/.test(r.apiKey)) throw new Error("nginx route key must be a plain token");
  const dir = mkdtempSync(join(tmpdir(), "agentgate-nginx-"));
  const withPorts = await Promise.all(routes.map(async (r) => ({ ...r, port: await freePort() })));
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, nginxConfig(dir, withPorts, process.getuid?.() === 0, workers));
  const argv = pinnedArgv(cpus, [
    "nginx", "-p", dir, "-c", conf, "-e", join(dir, "error.log"),
    "-g", `daemon off; pid ${join(dir, "nginx.pid")}; error_log ${join(dir, "error.log")} warn;`,
  ]);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM"); // nginx: fast shutdown of master and worker
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      Promise.all(withPorts.map((r) => waitForPort(r.port, 10_000))),
      exited.then(() => Promise.reject(new Error(`nginx exited at start: ${stderr.trim()}`))),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls: withPorts.map((r) => `http://127.0.0.1:${r.port}`), pid: child.pid!, stop };
}
