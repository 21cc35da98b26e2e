/**
 * Shapes shared by the ingest bench (bench/ingest.bench.ts) and its simulated-proxies worker
 * process (bench/lib/ingest-proxies-worker.ts), which talk through one JSON argument and one
 * JSON result line.
 */

/** What the simulated-proxies worker is asked to do. */
export interface IngestWorkerInput {
  /** Control-plane gRPC address (loopback, plaintext). */
  readonly address: string;
  readonly proxyToken: string;
  /** Proxy ids, one simulated proxy (spool + report client) each. */
  readonly proxyIds: readonly string[];
  /** Folder under which each proxy gets its spool folder (removed by the caller). */
  readonly spoolRoot: string;
  /** Concurrent appenders per proxy (like concurrent requests in a real proxy). */
  readonly appendersPerProxy: number;
  /** Records appended per proxy and waited for before the measured window (JIT, stream, DB warm-up). */
  readonly warmupRecords: number;
  /** Length of the append window, seconds. */
  readonly windowS: number;
  /** At most this many records per proxy in the window (the window ends early when all reach it). */
  readonly maxRecordsPerProxy: number;
  /** Size of each record's response body, bytes. */
  readonly bodyBytes: number;
  /** Report client settings (the proxy's production values: 200 records, 100 ms). */
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  /** The report client's backlogBatchSize (undefined: its default). */
  readonly backlogBatchSize?: number;
  /** Longest the worker waits for the spools to drain after the window. */
  readonly drainTimeoutS: number;
  /**
   * Paced window instead of "as fast as the spools take them": `perSecond` records per
   * second over all proxies for the whole window (the outage scenario: proxies keep serving
   * at a steady rate while the control plane is down, then back).
   */
  readonly pace?: { readonly perSecond: number };
}

/** One sample of the worker's counters, all proxies together. */
export interface IngestSample {
  /** Seconds since the window started. */
  readonly t: number;
  /** Records appended (durable in a spool) since the window started. */
  readonly appended: number;
  /** Records acked by the control plane since the window started. */
  readonly acked: number;
  /** Durable records not yet acked (the spool backlog), all proxies. */
  readonly backlog: number;
}

/** What one simulated proxy did. */
export interface IngestProxyResult {
  readonly proxyId: string;
  /** Every record appended, warm-up included: the rows the database must hold for this proxy. */
  readonly appendedTotal: number;
  /** Records appended in the window. */
  readonly appendedInWindow: number;
  /** Ids acked since start, counting an id again if it was resent and acked twice. */
  readonly ackedTotal: number;
  readonly rejected: number;
  /** Report streams opened (1 = no reconnect, hence no resend). */
  readonly streams: number;
  /** Spool backlog (durable, unacked records) when the window ended. */
  readonly backlogAtWindowEnd: number;
  /** Spool backlog when the worker gave up waiting or finished draining (0 = drained). */
  readonly backlogAtEnd: number;
  readonly lastError: string | null;
}

/** The worker's result line. */
export interface IngestWorkerResult {
  readonly proxies: readonly IngestProxyResult[];
  /** Actual window length (shorter than asked when every proxy reached maxRecordsPerProxy). */
  readonly windowS: number;
  /** From the window's end until every spool was empty (or the drain timeout). */
  readonly drainS: number;
  readonly drained: boolean;
  /** Acked in the window / after it (resends included, see IngestProxyResult.ackedTotal). */
  readonly ackedInWindow: number;
  readonly ackedInDrain: number;
  /** Wall-clock (epoch ms) start of the window and end of the drain, for other processes' CPU samples. */
  readonly windowStartedAtMs: number;
  readonly drainEndedAtMs: number;
  /** CPU seconds (user + system) of the worker process over window + drain. */
  readonly workerCpuS: number;
  /** One sample per second from the window's start until drained. */
  readonly timeline: readonly IngestSample[];
}
