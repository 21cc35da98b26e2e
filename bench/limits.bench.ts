/**
 * Limits engine micro-benchmark: takeToken on the local backend vs Redis, one caller at a time
 * and 16 concurrent callers. Prints ops/s and latency percentiles (µs) per case.
 *
 *   npx tsx bench/limits.bench.ts            # REDIS_URL defaults to redis://127.0.0.1:6379
 *   BENCH_SECONDS=10 npx tsx bench/limits.bench.ts
 *   BENCH_REDIS_TIMEOUT_MS=1000 npx tsx bench/limits.bench.ts   # no fallback on a busy machine
 *
 * Redis runs with the production defaults (50 ms command timeout, local fallback); the
 * "degraded" column counts decisions that fell back, which would make a Redis row meaningless.
 * The machine is shared: run it idle, and prefer BENCH_SECONDS >= 10 for numbers to quote.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createLimiter } from "../data-plane/limits/limiter.js";
import type { InstrumentedLimiter } from "../data-plane/limits/limiter.js";

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 3);
const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
// Production default is 50 ms; raise it to see Redis' own latency tail on a busy machine.
const TIMEOUT_MS = Number(process.env["BENCH_REDIS_TIMEOUT_MS"] ?? 50);
const KEYS = 1000;

interface Row {
  name: string;
  ops: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  max: number;
  denied: number;
  degraded: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs `concurrency` callers in a loop for `seconds`, timing every call. */
async function measure(name: string, limiter: InstrumentedLimiter, concurrency: number, seconds: number): Promise<Row> {
  const latencies: number[] = [];
  let denied = 0;
  let i = 0;
  const before = limiter.stats().degradedDecisions;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const key = `bench-${i++ % KEYS}`;
      const t0 = performance.now();
      // High rate so almost every take is granted: the grant path writes, the denial path does not.
      const r = await limiter.takeToken(key, 6_000_000, 1000);
      latencies.push((performance.now() - t0) * 1000);
      if (!r.ok) denied++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    name,
    ops: sorted.length,
    opsPerSec: Math.round(sorted.length / elapsed),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    denied,
    degraded: limiter.stats().degradedDecisions - before,
  };
}

async function main(): Promise<void> {
  const prefix = `agentgate-bench:${randomUUID().slice(0, 8)}:`;
  const rows: Row[] = [];
  const cases: Array<[string, () => InstrumentedLimiter]> = [
    ["local", () => createLimiter({})],
    ["redis", () => createLimiter({ redisUrl: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: TIMEOUT_MS })],
  ];
  try {
    for (const [name, make] of cases) {
      const limiter = make();
      // A local-only loop never yields to the event loop (every await is a resolved promise), so
      // give the Redis connection real time to open before measuring.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await measure("warm-up", limiter, 4, 0.5);
      rows.push(await measure(`${name} ×1`, limiter, 1, SECONDS));
      rows.push(await measure(`${name} ×16`, limiter, 16, SECONDS));
      await limiter.close();
    }
  } finally {
    const raw = new Redis(REDIS_URL);
    let cursor = "0";
    do {
      const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await raw.del(...keys);
    } while (cursor !== "0");
    raw.disconnect();
  }
  const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  console.log(`takeToken, ${SECONDS}s per case, ${KEYS} keys, redis timeout ${TIMEOUT_MS} ms, node ${process.version}`);
  console.log("case        ops/s      p50 µs   p99 µs   max µs   denied  degraded");
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(10)} ${String(r.opsPerSec).padStart(8)} ${fmt(r.p50).padStart(9)} ${fmt(r.p99).padStart(8)} ${fmt(r.max).padStart(8)} ${String(r.denied).padStart(8)} ${String(r.degraded).padStart(9)}`,
    );
  }
}

await main();
