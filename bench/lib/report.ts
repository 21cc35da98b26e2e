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

/** The reference peers of a table: which nginx row the ratios use ("nginx", or "nginx-auto" for every core). */
export interface Peers {
  nginx: string;
}

/**
 * Small-JSON table: throughput and latency, each hop relative to direct, to nginx and (for
 * agentgate) to the bare undici relay — CPU per request against the relay is issue #14's
 * "≤ 2× the bare relay" figure.
 */
export function loadTable(rows: ReadonlyArray<Row<LoadResult>>, peers: Peers = { nginx: "nginx" }): string {
  const header = ["target", "conns", "req/s", "p50 ms", "p99 ms", "errors", "hop CPU µs/req", "p50 +ms vs direct", "p50 vs direct", "rps vs direct", "rps vs nginx", "p50 vs nginx", "hop CPU vs nginx", "hop CPU vs relay", "load1"];
  const body = rows.map((row) => {
    const r = row.result;
    if (!r) return [row.target, String(row.concurrency), row.note ?? "failed", ...header.slice(3, -1).map(() => ""), row.load1];
    const direct = row.target === "direct" ? undefined : peer(rows, row, "direct");
    const nginx = row.target === "direct" || row.target === peers.nginx ? undefined : peer(rows, row, peers.nginx);
    const relay = row.target.startsWith("agentgate") ? peer(rows, row, "relay") : undefined;
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
      ratio(r.rps, direct?.rps),
      ratio(r.rps, nginx?.rps),
      ratio(r.p50, nginx?.p50),
      ratio(r.sutCpuUsPerRequest, nginx?.sutCpuUsPerRequest),
      ratio(r.sutCpuUsPerRequest, relay?.sutCpuUsPerRequest),
      row.load1,
    ];
  });
  return renderTable(header, body);
}

/** Streamed-run table: time to first event and total time, relative to direct and nginx. */
export function streamTable(rows: ReadonlyArray<Row<StreamResult>>): string {
  const header = ["target", "clients", "runs", "TTFE p50 ms", "TTFE p99 ms", "total p50 ms", "total p99 ms", "events/run", "errors", "TTFE p50 +ms vs direct", "TTFE p99 +ms vs direct", "TTFE p50 vs direct", "total p50 vs direct", "TTFE p50 vs nginx", "load1"];
  const body = rows.map((row) => {
    const r = row.result;
    if (!r) return [row.target, String(row.concurrency), row.note ?? "failed", ...header.slice(3, -1).map(() => ""), row.load1];
    const direct = row.target === "direct" ? undefined : peer(rows, row, "direct");
    const nginx = row.target === "direct" || row.target === "nginx" ? undefined : peer(rows, row, "nginx");
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
      delta(r.ttfe.p99, direct?.ttfe.p99),
      ratio(r.ttfe.p50, direct?.ttfe.p50),
      ratio(r.total.p50, direct?.total.p50),
      ratio(r.ttfe.p50, nginx?.ttfe.p50),
      row.load1,
    ];
  });
  return renderTable(header, body);
}
