/**
 * The systems the proxy bench measures: the demo stack (real LangGraph server, dev issuer,
 * control plane, one proxy) plus a static upstream, both reachable through the proxy as two
 * connections of one policy, a bare undici relay in front of both (the floor for a Node
 * proxy), and optionally nginx (one worker, pinned like the proxy; and `worker_processes
 * auto`, unpinned, for the every-core comparison).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { startStack, waitForProxyReady, type Stack } from "../../demo/stack.js";
import { demoPolicyYaml, type DemoPolicyInput } from "../../demo/demo-policy.js";
import { startServiceProcess, type ServiceProcess } from "../../demo/service-process.js";
import { startNginx, type RunningNginx } from "./nginx.js";
import { pin, type Pinning } from "./procs.js";
import { childrenOf } from "./cpu-time.js";

const STATIC_KEY_ENV = "AGENTGATE_UPSTREAM_BENCH_STATIC_KEY";

/** The hops the bench compares. `nginx-auto`, `agentgate-workers`: one worker per core, unpinned. */
export type TargetName = "direct" | "nginx" | "relay" | "agentgate" | "agentgate-base" | "nginx-auto" | "agentgate-workers";

/** Where to send a request, and the credential headers that go with it. */
export interface Target {
  readonly name: TargetName;
  readonly baseUrl: string;
  readonly headers: Record<string, string>;
  /** The process whose CPU time is the cost of this hop (nginx master, the proxy); none for direct. */
  readonly sutPid: number | undefined;
}

/** The two upstreams of the bench, each reachable directly, through nginx, the bare relay and the proxy. */
export interface BenchSystems {
  readonly static: Target[];
  readonly langgraph: Target[];
  /** The static upstream through hops that may use every core (unpinned). */
  readonly cores: Target[];
  readonly proxyPid: number;
  stop(): Promise<void>;
}

/** The demo policy plus a `static` connection that developers may use for anything. */
function policyWithStatic(staticUrl: string): (input: DemoPolicyInput) => string {
  return (input) => {
    const doc = parse(demoPolicyYaml(input)) as { connections: unknown[]; policies: unknown[] };
    doc.connections.push({ name: "static", baseUrl: staticUrl, credentialEnv: STATIC_KEY_ENV });
    doc.policies.push({ name: "bench-static", role: "developer", connection: "static", graphs: ["*"], operations: ["*"] });
    return stringify(doc);
  };
}

/**
 * Starts everything; on failure stops what already runs. With `pinning`, the proxy and nginx
 * get the SUT core; everything else inherits the bench's own (already pinned) CPUs.
 */
export async function startBenchSystems(opts: {
  withNginx: boolean;
  pinning: Pinning | undefined;
  env?: Record<string, string>;
  /** Run the planes from this `npm run build` output (plain node); default the sources through tsx. */
  buildDir?: string;
  /**
   * A second proxy of the same control plane run from this other build (e.g. `main` built with
   * `node scripts/build.mjs --out-dir .scratch/ab-base`), pinned like the first: target
   * `agentgate-base`, measured in the same rows, so a change is compared before/after in one run.
   */
  baselineBuildDir?: string;
  /** Also start the every-core peers: nginx `worker_processes auto`, and a proxy in worker mode (needs Redis at REDIS_URL or 127.0.0.1:6379). */
  withCores?: boolean;
}): Promise<BenchSystems> {
  const dataDir = mkdtempSync(join(tmpdir(), "agentgate-bench-"));
  const staticKey = `st-${randomBytes(18).toString("base64url")}`;
  let staticUpstream: ServiceProcess | undefined;
  let stack: Stack | undefined;
  let nginx: RunningNginx | undefined;
  let nginxAuto: RunningNginx | undefined;
  let relay: ServiceProcess | undefined;
  let workers: ServiceProcess | undefined;
  let baseline: ServiceProcess | undefined;
  const stop = async (): Promise<void> => {
    await workers?.stop("SIGTERM", 30_000).catch(() => undefined);
    await baseline?.stop("SIGTERM", 30_000).catch(() => undefined);
    await nginx?.stop().catch(() => undefined);
    await nginxAuto?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await staticUpstream?.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    staticUpstream = await startServiceProcess("bench/lib/static-upstream-server.ts", { BENCH_STATIC_KEY: staticKey });
    const staticUrl = staticUpstream.ready["url"]!;
    stack = await startStack({ dataDir, policy: policyWithStatic(staticUrl), env: { ...opts.env, [STATIC_KEY_ENV]: staticKey }, ...(opts.buildDir ? { buildDir: opts.buildDir } : {}) });
    if (opts.pinning) pin(stack.proxies[0]!.pid, opts.pinning.sut);
    const token = await stack.issuer.mint({ sub: "bench", groups: ["developers"], expiresIn: 3 * 3600 });
    const bearer = { authorization: `Bearer ${token}` };
    const proxyUrl = stack.proxyUrl(0);
    const lgUrl = stack.upstream.url;
    const routes = [{ upstreamUrl: staticUrl, apiKey: staticKey }, { upstreamUrl: lgUrl, apiKey: stack.upstream.apiKey }];
    if (opts.withNginx) nginx = await startNginx(routes, opts.pinning?.sut);
    if (opts.withNginx && opts.withCores) nginxAuto = await startNginx(routes.slice(0, 1), opts.pinning?.all, "auto");
    // The relay gets the SUT core like the proxy and nginx.
    relay = await startServiceProcess("bench/lib/bare-relay.mjs", { BENCH_RELAY_ROUTES: JSON.stringify(routes) });
    if (opts.pinning) pin(relay.pid, opts.pinning.sut);
    const relayUrls = relay.ready["urls"]!.split(" ");
    if (opts.baselineBuildDir) {
      baseline = await startServiceProcess(join(opts.baselineBuildDir, "data-plane", "main.js"), {
        ...opts.env,
        AGENTGATE_COMPONENT: "proxy-base",
        AGENTGATE_PROXY_ID: "proxy-base",
        AGENTGATE_PROXY_TOKEN: stack.proxyToken,
        AGENTGATE_CONTROL_PLANE: stack.controlPlane.ready["grpcAddress"]!,
        AGENTGATE_PROXY_PORT: "0",
        AGENTGATE_DATA_DIR: join(dataDir, "proxy-base"),
        AGENTGATE_ALLOW_HTTP_ISSUERS: "loopback",
      });
      await waitForProxyReady(baseline.ready["url"]!);
      if (opts.pinning) pin(baseline.pid, opts.pinning.sut);
    }
    if (opts.withCores) {
      // A second proxy of the same control plane, in worker mode (one per core), on every CPU.
      workers = await startServiceProcess(opts.buildDir ? join(opts.buildDir, "data-plane", "main.js") : "data-plane/main.ts", {
        ...opts.env,
        AGENTGATE_COMPONENT: "proxy-workers",
        AGENTGATE_PROXY_ID: "proxy-workers",
        AGENTGATE_PROXY_TOKEN: stack.proxyToken,
        AGENTGATE_CONTROL_PLANE: stack.controlPlane.ready["grpcAddress"]!,
        AGENTGATE_PROXY_PORT: "0",
        AGENTGATE_DATA_DIR: join(dataDir, "proxy-workers"),
        AGENTGATE_ALLOW_HTTP_ISSUERS: "loopback",
        AGENTGATE_PROXY_WORKERS: "auto",
        AGENTGATE_REDIS_URL: process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379",
        AGENTGATE_REDIS_KEY_PREFIX: `bench-${randomBytes(4).toString("hex")}:`,
      });
      await waitForProxyReady(workers.ready["url"]!);
      // It started with the bench's CPU mask: give the primary and its workers every CPU.
      if (opts.pinning) for (const pid of [workers.pid, ...childrenOf(workers.pid)]) pin(pid, opts.pinning.all);
    }
    const proxyPid = stack.proxies[0]!.pid;
    const targets = (upstreamUrl: string, key: string, proxyPath: string, nginxUrl: string | undefined, relayUrl: string): Target[] => [
      { name: "direct", baseUrl: upstreamUrl, headers: { "x-api-key": key }, sutPid: undefined },
      ...(nginxUrl ? [{ name: "nginx" as const, baseUrl: nginxUrl, headers: {}, sutPid: nginx?.pid }] : []),
      { name: "relay", baseUrl: relayUrl, headers: {}, sutPid: relay!.pid },
      { name: "agentgate", baseUrl: `${proxyUrl}${proxyPath}`, headers: bearer, sutPid: proxyPid },
      ...(baseline ? [{ name: "agentgate-base" as const, baseUrl: `${baseline.ready["url"]!}${proxyPath}`, headers: bearer, sutPid: baseline.pid }] : []),
    ];
    return {
      static: targets(staticUrl, staticKey, "/c/static", nginx?.urls[0], relayUrls[0]!),
      langgraph: targets(lgUrl, stack.upstream.apiKey, "/c/demo", nginx?.urls[1], relayUrls[1]!),
      cores: [
        { name: "direct", baseUrl: staticUrl, headers: { "x-api-key": staticKey }, sutPid: undefined },
        ...(nginxAuto ? [{ name: "nginx-auto" as const, baseUrl: nginxAuto.urls[0]!, headers: {}, sutPid: nginxAuto.pid }] : []),
        ...(workers ? [{ name: "agentgate-workers" as const, baseUrl: `${workers.ready["url"]!}/c/static`, headers: bearer, sutPid: workers.pid }] : []),
      ],
      proxyPid,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
