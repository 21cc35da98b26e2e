/**
 * What recording costs a request on the proxy: the latency of `Spool.append` (seal into the
 * hash chain, encode, one write + fdatasync per group commit) with N concurrent appenders,
 * and, as the floor it cannot beat, a bare `write` + `fdatasync` loop on the same folder.
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { openSpool } from "../../data-plane/sync/spool.js";
import { testRecord } from "../../data-plane/recording/testing/test-record.js";
import { summarize } from "./stats.js";

/** One measured configuration. Latencies in ms. */
export interface AppendLatency {
  readonly concurrency: number;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Records per fdatasync (group-commit size); 1 for the bare loop. */
  readonly perSync: number;
  /** CPU time (user + system) of this process per operation, µs, making the record included. */
  readonly cpuUs: number;
}

/** Latency samples (ms), wall time and CPU usage of one run → its row. */
function summarizeRun(samples: readonly number[], elapsedS: number, cpu: NodeJS.CpuUsage, concurrency: number, perSync: number): AppendLatency {
  const { p50, p99, max } = summarize(samples);
  const ops = samples.length;
  return { concurrency, ops, opsPerSec: ops / elapsedS, p50, p99, max, perSync, cpuUs: ops > 0 ? (cpu.user + cpu.system) / ops : Number.NaN };
}

/** Options of {@link measureSpoolAppend}. */
export interface AppendRun {
  /** Parent folder: a fresh spool is made (and removed) in it, so this picks the disk. */
  readonly parent: string;
  readonly concurrency: number;
  readonly durationS: number;
  readonly bodyBytes: number;
  /** Unmeasured appends first, same concurrency (JIT, file creation). */
  readonly warmupS: number;
}

/**
 * `concurrency` loops append records to one spool back to back for `durationS`, each timing
 * its own `append` (record creation excluded). Nothing acks, so the spool only grows.
 */
export async function measureSpoolAppend(run: AppendRun): Promise<AppendLatency> {
  const dir = await mkdtemp(join(run.parent, "agentgate-bench-spool-"));
  const spool = await openSpool({ dir, maxBytes: 4 * 2 ** 30, onEvent: () => undefined });
  let syncs = 0;
  spool.onAppend(() => syncs++);
  try {
    let n = 0;
    const loop = async (deadline: number, samples: number[] | undefined): Promise<void> => {
      while (performance.now() < deadline) {
        const record = testRecord(n++, run.bodyBytes);
        const t0 = performance.now();
        await spool.append(record);
        samples?.push(performance.now() - t0);
      }
    };
    const all = (deadline: number, samples: number[] | undefined) => Promise.all(Array.from({ length: run.concurrency }, () => loop(deadline, samples)));
    await all(performance.now() + run.warmupS * 1000, undefined);
    const samples: number[] = [];
    const syncsBefore = syncs;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await all(started + run.durationS * 1000, samples);
    const elapsedS = (performance.now() - started) / 1000;
    return summarizeRun(samples, elapsedS, process.cpuUsage(cpu), run.concurrency, samples.length / Math.max(1, syncs - syncsBefore));
  } finally {
    await spool.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** One writer: `write(bytes)` at the end of a file + `fdatasync`, back to back: the disk's durable-write latency. */
export async function measureBareFdatasync(parent: string, bytes: number, durationS: number): Promise<AppendLatency> {
  const dir = await mkdtemp(join(parent, "agentgate-bench-fsync-"));
  const fh = await open(join(dir, "data"), "w");
  try {
    const buf = Buffer.alloc(bytes, 0x61);
    const samples: number[] = [];
    let offset = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const deadline = started + durationS * 1000;
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await fh.write(buf, 0, bytes, offset);
      await fh.datasync();
      samples.push(performance.now() - t0);
      offset += bytes;
    }
    return summarizeRun(samples, (performance.now() - started) / 1000, process.cpuUsage(cpu), 1, 1);
  } finally {
    await fh.close();
    await rm(dir, { recursive: true, force: true });
  }
}
