/** The shapes shared by the load generators (wrk and the Node fallback) and the report. */

/** One closed-loop HTTP load run: `connections` clients sending the same request back to back. */
export interface HttpLoadSpec {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationS: number;
}

/** What a load run measured. Latencies in ms. */
export interface LoadResult {
  tool: "wrk" | "node";
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Socket errors, timeouts and non-2xx answers together (a row with errors is not comparable). */
  errors: number;
  errorDetail: string;
  /** CPU time (user + system, µs) the hop under test spent per request, when measurable. */
  sutCpuUsPerRequest?: number;
}

/** A streamed-run measurement: `runs` runs, `concurrency` at a time. */
export interface StreamSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  runs: number;
  concurrency: number;
  /** Runs done (and discarded) first, to open connections and warm the JIT. */
  warmupRuns: number;
}

/** Time to first SSE event and total time of each run, ms. */
export interface StreamResult {
  runs: number;
  errors: number;
  errorDetail: string;
  ttfe: { p50: number; p99: number; mean: number; max: number };
  total: { p50: number; p99: number; mean: number; max: number };
  /** Events per run (should be the same everywhere: a proxy must not drop or merge events). */
  eventsPerRun: number;
  wallS: number;
}
