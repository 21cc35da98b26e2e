/**
 * CPU time of the system under test, from /proc (Linux): user + system time of a process
 * and its direct children (nginx's worker), all threads included. Unlike req/s, CPU per
 * request barely moves when other people's jobs steal the core, so it is the steadier
 * measure of what a proxy costs on a shared machine. Undefined where /proc is missing.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Direct children of `pid` (scans /proc: works without CONFIG_PROC_CHILDREN). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    // Field 4 of stat is the parent pid; index 1 after the command name.
    if (statFields(Number(entry))?.[1] === String(pid)) out.push(Number(entry));
  }
  return out;
}

/** A reader of the CPU ms consumed so far by `pid` and its children, or undefined without /proc. */
export function cpuMeter(pid: number): (() => number) | undefined {
  if (statFields(pid) === undefined) return undefined;
  const pids = [pid, ...childrenOf(pid)];
  return () => {
    let ticks = 0;
    for (const p of pids) {
      const f = statFields(p);
      // utime and stime are fields 14 and 15 of stat: indexes 11 and 12 after the command name.
      if (f) ticks += Number(f[11]) + Number(f[12]);
    }
    return (ticks * 1000) / clockTicks();
  };
}
