/**
 * Node fallback load generator (when wrk is not installed), run as its own process by
 * {@link runNodeLoad}: `connections` closed-loop clients on one undici Pool, each sending the
 * request again as soon as the previous answer is fully read. Prints one JSON LoadResult.
 * Slower than wrk per request, so at high concurrency it may saturate before the target does.
 */
import { Pool } from "undici";
import type { HttpLoadSpec, LoadResult } from "./load.js";
import { summarize } from "./stats.js";

async function main(spec: HttpLoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, { connections: spec.connections, pipelining: 1 });
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  const fail = (what: string) => failures.set(what, (failures.get(what) ?? 0) + 1);
  const started = performance.now();
  const deadline = started + spec.durationS * 1000;
  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ method: spec.method, path: url.pathname + url.search, headers: spec.headers, body: spec.body || null });
        await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
        if (res.statusCode < 200 || res.statusCode >= 400) fail(`status ${res.statusCode}`);
        else latencies.push(performance.now() - t0);
      } catch (err) {
        fail((err as Error).name);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, client));
  const elapsedS = (performance.now() - started) / 1000;
  await pool.close();
  const { p50, p99 } = summarize(latencies);
  const errors = [...failures.values()].reduce((a, b) => a + b, 0);
  return { tool: "node", requests: latencies.length, rps: latencies.length / elapsedS, p50, p99, errors, errorDetail: [...failures].map(([k, n]) => `${k} ${n}`).join(", ") };
}

process.stdout.write(JSON.stringify(await main(JSON.parse(process.argv[2]!) as HttpLoadSpec)) + "\n");
