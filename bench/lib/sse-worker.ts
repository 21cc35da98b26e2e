/**
 * Streamed-run client, run as its own process: starts `runs` runs (`concurrency` at a time),
 * timing for each the first complete SSE event (blank-line terminated) and the end of the
 * stream, from just before the request is sent. Prints one JSON StreamResult.
 */
import { Pool } from "undici";
import type { StreamResult, StreamSpec } from "./load.js";
import { summarize } from "./stats.js";

interface OneRun {
  ttfe: number;
  total: number;
  events: number;
}

async function oneRun(pool: Pool, spec: StreamSpec, path: string): Promise<OneRun> {
  const t0 = performance.now();
  const res = await pool.request({ method: "POST", path, headers: spec.headers, body: spec.body });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`status ${res.statusCode}`);
  }
  let ttfe = Number.NaN;
  let text = "";
  for await (const chunk of res.body) {
    text += (chunk as Buffer).toString("utf8");
    if (Number.isNaN(ttfe) && text.includes("\n\n")) ttfe = performance.now() - t0;
  }
  const total = performance.now() - t0;
  if (Number.isNaN(ttfe)) throw new Error("no complete event");
  if (!text.startsWith("event: metadata")) throw new Error("first event is not metadata");
  if (text.includes("event: error")) throw new Error("error event");
  return { ttfe, total, events: text.split("\n\n").filter((b) => b.trim() !== "").length };
}

async function main(spec: StreamSpec): Promise<StreamResult> {
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, { connections: spec.concurrency, pipelining: 1 });
  const path = url.pathname + url.search;
  const results: OneRun[] = [];
  const failures = new Map<string, number>();
  const runAll = async (count: number, keep: boolean): Promise<void> => {
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < count) {
        next++;
        try {
          const r = await oneRun(pool, spec, path);
          if (keep) results.push(r);
        } catch (err) {
          if (keep) failures.set((err as Error).message, (failures.get((err as Error).message) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(spec.concurrency, count) }, client));
  };
  await runAll(spec.warmupRuns, false);
  const started = performance.now();
  await runAll(spec.runs, true);
  const wallS = (performance.now() - started) / 1000;
  await pool.close();
  const events = results.map((r) => r.events);
  return {
    runs: results.length,
    errors: [...failures.values()].reduce((a, b) => a + b, 0),
    errorDetail: [...failures].map(([k, n]) => `${k} ${n}`).join(", "),
    ttfe: summarize(results.map((r) => r.ttfe)),
    total: summarize(results.map((r) => r.total)),
    eventsPerRun: events.length ? Math.round(events.reduce((a, b) => a + b, 0) / events.length) : 0,
    wallS,
  };
}

process.stdout.write(JSON.stringify(await main(JSON.parse(process.argv[2]!) as StreamSpec)) + "\n");
