/** Child processes of the bench: tool detection, CPU pinning, one-shot Node workers. */
import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../demo/service-process.js";

/** True when `name` is an executable on PATH. */
export function hasCommand(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/**
 * Which CPUs run the system under test (proxy or nginx) and which run everything else
 * (load generator, upstreams, control plane). Pinning the tested proxy to its own core
 * keeps the load generator from stealing its CPU and makes proxy and nginx comparable
 * (each gets exactly one core). Undefined when there are fewer than two CPUs or no taskset.
 */
export interface Pinning {
  readonly sut: string;
  readonly rest: string;
  /** Every CPU (for the unpinned, every-core peers: children inherit the bench's own mask otherwise). */
  readonly all: string;
}

export function choosePinning(enabled: boolean): Pinning | undefined {
  const n = availableParallelism();
  if (!enabled || n < 2 || !hasCommand("taskset")) return undefined;
  return { sut: String(n - 1), rest: n === 2 ? "0" : `0-${n - 2}`, all: `0-${n - 1}` };
}

/** Moves every thread of a running process to `cpus` (a taskset list). Best effort. */
export function pin(pid: number, cpus: string): boolean {
  return spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" }).status === 0;
}

/** argv prefix that starts a command on `cpus` (empty when not pinning). */
export function pinnedArgv(cpus: string | undefined, argv: readonly string[]): string[] {
  return cpus === undefined ? [...argv] : ["taskset", "-c", cpus, ...argv];
}

/**
 * Runs a bench worker (`bench/lib/<entry>`) in its own Node process with a JSON input as
 * argv[2]; resolves with the JSON object it prints as its last stdout line. A separate
 * process keeps the load generator off the event loop of whatever else the bench runs.
 */
export function runWorker<I, O>(entry: string, input: I, timeoutMs: number): Promise<O> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "bench/lib", entry), JSON.stringify(input)], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`${entry} exited with ${code ?? signal}: ${err.trim().slice(-2000)}`));
      try {
        resolve(JSON.parse(last) as O);
      } catch {
        reject(new Error(`${entry} printed no JSON result: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}
