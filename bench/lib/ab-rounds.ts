/**
 * `--ab N` (with `--baseline DIR`): before/after on a busy machine. The bare relay, the baseline
 * proxy and the proxy under test take turns in short rows (the order rotates every round), N
 * rounds per concurrency, and each row's CPU per request is read from the scheduler's own
 * run-time of every thread (/proc/<pid>/task/<tid>/schedstat, nanoseconds: no 10-ms ticks). The
 * median of the rounds is reported: a burst of other people's work spoils a round, not the result.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Target } from "./bench-stack.js";
import type { HttpLoader } from "./loader.js";
import type { HttpLoadSpec } from "./load.js";
import { load1 } from "./machine.js";
import { renderTable } from "./table.js";

/** ns of CPU the process `pid` has run so far, all threads (those alive now). */
function runNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function abRounds(opts: {
  targets: readonly Target[];
  loader: HttpLoader;
  spec: (t: Target, connections: number, durationS: number) => HttpLoadSpec;
  rounds: number;
  durationS: number;
  concurrency: readonly number[];
}): Promise<void> {
  const names = ["relay", "agentgate-base", "agentgate"];
  const targets = names.map((n) => opts.targets.find((t) => t.name === n)).filter((t): t is Target => t?.sutPid !== undefined);
  if (targets.length !== names.length) throw new Error("--ab needs the relay and --baseline");
  const rows: string[][] = [];
  for (const c of opts.concurrency) {
    const cpu = new Map<string, number[]>(names.map((n) => [n, []]));
    const rps = new Map<string, number[]>(names.map((n) => [n, []]));
    const p50 = new Map<string, number[]>(names.map((n) => [n, []]));
    const loads: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      loads.push(Number(load1()));
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(i + r) % targets.length]!;
        const before = runNs(t.sutPid!);
        const result = await opts.loader.run(opts.spec(t, c, opts.durationS));
        if (result.requests === 0 || result.errors > 0) continue;
        cpu.get(t.name)!.push((runNs(t.sutPid!) - before) / 1000 / result.requests);
        rps.get(t.name)!.push(result.rps);
        p50.get(t.name)!.push(result.p50);
      }
    }
    const relay = median(cpu.get("relay")!);
    const base = median(cpu.get("agentgate-base")!);
    for (const n of names) {
      const us = median(cpu.get(n)!);
      rows.push([n, String(c), us.toFixed(0), `${Math.min(...cpu.get(n)!).toFixed(0)}–${Math.max(...cpu.get(n)!).toFixed(0)}`, (us / relay).toFixed(2) + "x", n === "agentgate" ? (us / base).toFixed(3) + "x" : "", median(rps.get(n)!).toFixed(0), median(p50.get(n)!).toFixed(2), `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`]);
    }
    process.stderr.write(`  ab c=${c}: relay ${relay.toFixed(0)}, base ${base.toFixed(0)}, agentgate ${median(cpu.get("agentgate")!).toFixed(0)} µs/req\n`);
  }
  console.log(`\n## A/B: ${opts.rounds} rounds of ${opts.durationS} s rows per target, order rotating; CPU µs/request from schedstat (all threads), median of the rounds\n`);
  console.log(renderTable(["target", "conns", "CPU µs/req (median)", "min–max", "÷ relay", "÷ base", "req/s", "p50 ms", "load1"], rows));
}
