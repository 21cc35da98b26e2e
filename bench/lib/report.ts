/** Turns measured rows into the printed tables, with ratios against direct and nginx of the same run. */
import type { LoadResult, StreamResult } from "./load.js";
import { delta, ms, ratio } from "./stats.js";
import { renderTable } from "./table.js";

/** One measured row: a target at a concurrency, with the 1-min load average when it started. */
export interface Row<R> {
  target: string;
  concurrency: number;
  load1: string;
  result: R | undefined;
  /** Why there is no result (skipped or failed). */
  note?: string;
}

/** The row of `target` at the same concurrency, if measured. */
function peer<R>(rows: ReadonlyArray<Row<R>>, row: Row<R>, target: string): R | undefined {
  return rows.find((r) => r.concurrency === row.concurrency && r.target === target)?.result;
}

/** Small-JSON table: throughput and latency, then agentgate/nginx relative to direct, agentgate relative to nginx. */
export function loadTable(rows: ReadonlyArray<Row<LoadResult>>): string {
  const header = ["target", "conns", "req/s", "p50 ms", "p99 ms", "errors", "hop CPU µs/req", "p50 +ms vs direct", "p50 vs direct", "p99 vs direct", "rps vs direct", "p50 vs nginx", "p99 vs nginx", "rps vs nginx", "hop CPU vs nginx", "load1"];
  const body = rows.map((row) => {
    const r = row.result;
    if (!r) return [row.target, String(row.concurrency), row.note ?? "failed", ...header.slice(3, -1).map(() => ""), row.load1];
    const direct = row.target === "direct" ? undefined : peer(rows, row, "direct");
    const nginx = row.target === "agentgate" ? peer(rows, row, "nginx") : undefined;
    return [
      row.target,
      String(row.concurrency),
      r.rps.toFixed(0),
      ms(r.p50),
      ms(r.p99),
      r.errors ? `${r.errors} (${r.errorDetail})` : "0",
      r.sutCpuUsPerRequest === undefined ? "-" : r.sutCpuUsPerRequest.toFixed(0),
      delta(r.p50, direct?.p50),
      ratio(r.p50, direct?.p50),
      ratio(r.p99, direct?.p99),
      ratio(r.rps, direct?.rps),
      ratio(r.p50, nginx?.p50),
      ratio(r.p99, nginx?.p99),
      ratio(r.rps, nginx?.rps),
      ratio(r.sutCpuUsPerRequest, nginx?.sutCpuUsPerRequest),
      row.load1,
    ];
  });
  return renderTable(header, body);
}

/** Streamed-run table: time to first event and total time, relative to direct and nginx. */
export function streamTable(rows: ReadonlyArray<Row<StreamResult>>): string {
  const header = ["target", "clients", "runs", "TTFE p50 ms", "TTFE p99 ms", "total p50 ms", "total p99 ms", "events/run", "errors", "TTFE p50 +ms vs direct", "TTFE p50 vs direct", "TTFE p99 vs direct", "total p50 vs direct", "TTFE p50 vs nginx", "load1"];
  const body = rows.map((row) => {
    const r = row.result;
    if (!r) return [row.target, String(row.concurrency), row.note ?? "failed", ...header.slice(3, -1).map(() => ""), row.load1];
    const direct = row.target === "direct" ? undefined : peer(rows, row, "direct");
    const nginx = row.target === "agentgate" ? peer(rows, row, "nginx") : undefined;
    return [
      row.target,
      String(row.concurrency),
      String(r.runs),
      ms(r.ttfe.p50),
      ms(r.ttfe.p99),
      ms(r.total.p50),
      ms(r.total.p99),
      String(r.eventsPerRun),
      r.errors ? `${r.errors} (${r.errorDetail})` : "0",
      delta(r.ttfe.p50, direct?.ttfe.p50),
      ratio(r.ttfe.p50, direct?.ttfe.p50),
      ratio(r.ttfe.p99, direct?.ttfe.p99),
      ratio(r.total.p50, direct?.total.p50),
      ratio(r.ttfe.p50, nginx?.ttfe.p50),
      row.load1,
    ];
  });
  return renderTable(header, body);
}
