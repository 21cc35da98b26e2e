/** What the numbers were measured on, and waiting for a shared machine to calm down. */
import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { REPO_ROOT } from "../../demo/service-process.js";

/** Facts printed above every table. */
export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  platform: string;
  /** 1/5/15-minute load averages when the bench started. */
  loadAtStart: [number, number, number];
}

export function machineInfo(): MachineInfo {
  const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAtStart: [l1, l5, l15],
  };
}

/** The 1-minute load average, two decimals. */
export function load1(): string {
  return (loadavg()[0] ?? 0).toFixed(2);
}

/**
 * Waits until the 1-minute load average is below `threshold` (the machine is shared: other
 * people's test runs would show up as proxy latency), polling every 5 s, at most `maxWaitMs`.
 * `onWait` is called about every 30 s. Returns whether it got quiet; the caller warns when not.
 */
export async function waitForQuiet(threshold: number, maxWaitMs: number, onWait: (load: number) => void): Promise<{ quiet: boolean; load: number; waitedMs: number }> {
  const started = Date.now();
  for (let polls = 0; ; polls++) {
    const load = loadavg()[0] ?? 0;
    const waitedMs = Date.now() - started;
    if (load < threshold) return { quiet: true, load, waitedMs };
    if (waitedMs >= maxWaitMs) return { quiet: false, load, waitedMs };
    if (polls % 6 === 0) onWait(load);
    await new Promise((r) => setTimeout(r, Math.min(5_000, maxWaitMs - waitedMs)));
  }
}

/** The commit measured, and whether the proxy's code had uncommitted changes ("unknown" without git). */
export function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = git("status", "--porcelain", "--", "data-plane", "demo", "control-plane") !== "";
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted changes in data-plane/demo/control-plane" : ""}`;
  } catch {
    return "unknown";
  }
}
