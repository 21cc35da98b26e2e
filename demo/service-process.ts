import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file lives in demo/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** A control plane or proxy running as a child process. */
export interface ServiceProcess {
  /** The JSON "ready" line the service printed (its bound URLs). */
  readonly ready: Record<string, string>;
  readonly pid: number;
  /** The last lines of its logs, for failure reports. */
  logs(): string;
  /** Sends a signal and waits for the exit (SIGKILL after graceMs). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  readonly exited: Promise<number | null>;
}

const LOG_LINES = 200;

/**
 * Starts `<entry>` with `env`: TypeScript sources through `node --import tsx`, compiled
 * `.js` entries (a `npm run build` output) with plain node, resolves once it prints its JSON ready
 * line on stdout, rejects (with its last log lines) if it exits or times out first.
 * `onLog` receives every stderr line (structured JSON logs).
 */
export function startServiceProcess(
  entry: string,
  env: Record<string, string>,
  opts: { timeoutMs?: number; onLog?: (line: string) => void } = {},
): Promise<ServiceProcess> {
  const file = isAbsolute(entry) ? entry : join(REPO_ROOT, entry);
  const args = file.endsWith(".ts") ? ["--import", "tsx", file] : ["--enable-source-maps", file];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > LOG_LINES) tail.shift();
    opts.onLog?.(line);
  };
  createInterface({ input: child.stderr! }).on("line", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${entry} did not become ready in time\n${tail.join("\n")}`));
    }, opts.timeoutMs ?? 60_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with code ${code} before it was ready\n${tail.join("\n")}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        keep(line);
        return;
      }
      if (!parsed || typeof parsed !== "object" || !("ready" in parsed)) return keep(line);
      clearTimeout(timer);
      resolve({
        ready: parsed as Record<string, string>,
        pid: child.pid!,
        logs: () => tail.join("\n"),
        exited,
        async stop(signal = "SIGTERM", graceMs = 5_000) {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill(signal);
          const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
