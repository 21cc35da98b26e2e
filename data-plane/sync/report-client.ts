/**
 * The proxy's side of SessionService.Report (DESIGN.md §3): keeps one Report stream open
 * to the control plane and drains the spool through it, at least once.
 *
 * - Records are shipped as the spool holds them (SessionBatch.sealed_records): the bytes the
 *   proxy hashed into its chain, never decoded and re-encoded on the way (issue #14).
 * - Records are read from the spool (never from memory), so whatever was not acked —
 *   after a crash, a broken stream or a control-plane restart — is simply read and sent
 *   again; the control plane stores by id, so a resend is harmless.
 * - A record is in at most one in-flight batch at a time; in-flight state belongs to one
 *   stream and is dropped when it ends, which is what makes everything unacked eligible
 *   for resending on the next stream.
 * - Only ids named in ReportAck.ids leave the spool. ReportAck.rejected_ids are moved to
 *   the spool's rejected.log (kept for inspection, logged, not retried).
 * - An ack carrying only `error` means the control plane could not store what it got:
 *   the stream is restarted after a backoff and everything unacked is resent. A batch
 *   left unacked for `ackTimeoutMs` does the same (a hung control plane).
 * - Batching: a full batch (`batchSize` records) is sent as soon as it is pending; a
 *   partial one waits at most `flushIntervalMs` (like Kafka's linger.ms).
 * - Catch-up (issue #13): while more than `maxInFlightBatches` batches are waiting (a
 *   backlog, e.g. after a control-plane outage), every other batch takes the newest records
 *   instead of the oldest, so exchanges that end meanwhile are stored within a batch or two
 *   instead of queueing behind the whole backlog; the backlog's own batches (oldest first)
 *   take up to `backlogBatchSize` records, so the control plane stores it in fewer, larger
 *   statements (its cost per record falls with the batch size: bench/README.md).
 * It never throws into the process: failures become log lines and `status()`.
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { bearerInterceptor, channelCredentials, makeGrpcClient } from "../../proto/grpc-adapter.js";
import { SessionBatchSchema, SessionService } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { ReportAck, SessionBatch } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { ControlPlaneClientOptions } from "./control-plane-client.js";
import { backoffDelay, REPORT_BACKOFF } from "./backoff.js";
import type { Spool } from "./spool.js";
import { jsonLineLog } from "./watch-client.js";

/** What the reporter needs from the spool. */
export type ReportSpool = Pick<Spool, "pendingSealed" | "ack" | "quarantine" | "stats" | "onAppend"> & Partial<Pick<Spool, "ackedHead">>;

/** Options of `startReporter`. */
export interface ReporterOptions extends ControlPlaneClientOptions {
  spool: ReportSpool;
  /** Channel credentials; when absent, built from `tls` (plaintext only to loopback unless `allowInsecure`). */
  credentials?: grpc.ChannelCredentials;
  /** Records per SessionBatch. */
  batchSize: number;
  /** Longest a record waits for its batch to fill before being sent anyway. */
  flushIntervalMs: number;
  /** Bytes per batch; default 3.5 MiB, under grpc-js' default 4 MiB message limit. */
  maxBatchBytes?: number;
  /** Records per oldest-first batch while a backlog waits (see the module comment); default 5 × batchSize. */
  backlogBatchSize?: number;
  /** Batches awaiting their ack at once; default 4. */
  maxInFlightBatches?: number;
  /** An in-flight batch unacked for this long restarts the stream; default 30 000 ms. */
  ackTimeoutMs?: number;
}

/** What /readyz and metrics read. */
export interface ReporterStatus {
  /** The current stream has heard from the control plane (headers or an ack). */
  connected: boolean;
  /** Records in the spool not yet acked (in flight included). */
  pending: number;
  inFlightRecords: number;
  inFlightBatches: number;
  /** Records acked / rejected since start. */
  acked: number;
  rejected: number;
  /** Streams opened since start. */
  streams: number;
  /** Unix ms of the last ack, null before the first. */
  lastAckAt: number | null;
  /** The newest problem, cleared by the next ack. */
  lastError: string | null;
}

/** A running reporter. */
export interface Reporter {
  status(): ReporterStatus;
  /**
   * Sends everything pending now (partial batches included) and resolves true once the
   * spool has nothing left to report, false if `timeoutMs` passed first (for shutdown and tests).
   */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Ends the stream, stops reconnecting, closes the channel. The spool stays open (the caller owns it). */
  stop(): Promise<void>;
}

interface InFlightBatch {
  remaining: number;
  readonly sentAt: number;
}

// Errors travel to logs: bound them.
const MAX_ERROR = 500;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, MAX_ERROR);

/** Starts reporting the spool's records. Returns at once; connecting happens in the background. */
export function startReporter(options: ReporterOptions): Reporter {
  const log = options.log ?? jsonLineLog;
  const policy = options.backoff ?? REPORT_BACKOFF;
  const { spool, proxyId, batchSize, flushIntervalMs } = options;
  const maxBatchBytes = options.maxBatchBytes ?? 3.5 * 1024 * 1024;
  const maxInFlight = options.maxInFlightBatches ?? 4;
  const backlogBatchSize = Math.max(batchSize, options.backlogBatchSize ?? 5 * batchSize);
  const ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
  if (!(batchSize > 0) || !(flushIntervalMs > 0)) throw new TypeError("reporter: batchSize and flushIntervalMs must be positive");

  const credentials = options.credentials ?? channelCredentials(options.address, options.tls, options.allowInsecure);
  const client = makeGrpcClient(SessionService, options.address, credentials, {
    interceptors: [bearerInterceptor(options.proxyToken)],
    // Keep the channel's own reconnect backoff in step with ours (its default grows to 120 s).
    "grpc.initial_reconnect_backoff_ms": policy.baseMs,
    "grpc.max_reconnect_backoff_ms": policy.capMs,
    "grpc.keepalive_time_ms": options.keepalive?.timeMs ?? 30_000,
    "grpc.keepalive_timeout_ms": options.keepalive?.timeoutMs ?? 10_000,
    "grpc.keepalive_permit_without_calls": 1,
  });

  let stopped = false;
  let stream: grpc.ClientDuplexStream<SessionBatch, ReportAck> | undefined;
  let connected = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let streams = 0;
  let acked = 0;
  let rejected = 0;
  let lastAckAt: number | null = null;
  let lastError: string | null = null;

  // In-flight state of the current stream only: id → its batch.
  let inFlight = new Map<string, InFlightBatch>();
  let batches = new Set<InFlightBatch>();
  // Rejected ids on their way to rejected.log: not to be resent meanwhile.
  const quarantining = new Set<string>();
  const busy = { has: (id: string) => inFlight.has(id) || quarantining.has(id) };

  const unsent = () => spool.stats().pendingCount - inFlight.size - quarantining.size;

  let pumping = false;
  let pumpAgain = false;
  let pumpPartial = false;
  let sent = 0;

  /** Sends batches while there is room in flight: full ones always, partial ones when `partial`. */
  async function pump(partial: boolean): Promise<void> {
    pumpPartial ||= partial;
    if (pumping) {
      pumpAgain = true; // one reader at a time, or two reads could pick the same records
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        const allowPartial = pumpPartial;
        pumpPartial = false;
        while (stream !== undefined && batches.size < maxInFlight) {
          // A count, not a read: cheap enough to run on every append. It may be briefly low
          // (ids acked by an ended stream and still in flight here), never high; partial
          // pumps skip it and just read.
          if (!allowPartial && unsent() < batchSize) break;
          const call = stream;
          const backlog = unsent() > batchSize * maxInFlight;
          const newestFirst = sent % 2 === 1 && backlog;
          // Fresh records go in small batches (stored soonest), the backlog in large ones.
          const limit = backlog && !newestFirst ? backlogBatchSize : batchSize;
          const records = await spool.pendingSealed(limit, { exclude: busy, maxBytes: maxBatchBytes, newestFirst });
          // The stream may have ended during the read; the next one starts from the spool anyway.
          if (records.length === 0 || stream !== call) break;
          sent++;
          const batch: InFlightBatch = { remaining: records.length, sentAt: Date.now() };
          batches.add(batch);
          for (const r of records) inFlight.set(r.id, batch);
          // write()'s backpressure signal is not awaited: maxInFlight × maxBatchBytes bounds the buffer.
          call.write(create(SessionBatchSchema, { proxyId, sealedRecords: records.map((r) => r.bytes) }));
        }
      } while (pumpAgain && !stopped);
    } catch (e) {
      lastError = `reading the spool failed: ${messageOf(e)}`;
      log("error", "report: reading the spool failed", { error: messageOf(e) });
    } finally {
      pumping = false;
    }
  }

  /** Forgets in-flight ids (acked or rejected) and frees their batches' slots. */
  function settle(ids: readonly string[]): void {
    for (const id of ids) {
      const batch = inFlight.get(id);
      if (batch === undefined) continue;
      inFlight.delete(id);
      if (--batch.remaining === 0) batches.delete(batch);
    }
  }

  function onAck(call: grpc.ClientDuplexStream<SessionBatch, ReportAck>, ack: ReportAck): void {
    if (call === stream) connected = true;
    if (ack.ids.length > 0) {
      // Acks from an ended stream are still true (stored is stored): apply them all.
      if (call === stream) settle(ack.ids);
      void spool.ack(ack.ids);
      acked += ack.ids.length;
      lastAckAt = Date.now();
      lastError = null;
      failures = 0; // this stream works: the next reconnect starts from the shortest delay
    }
    if (ack.rejectedIds.length > 0) {
      const ids = ack.rejectedIds;
      rejected += ids.length;
      for (const id of ids) quarantining.add(id);
      if (call === stream) settle(ids);
      log("error", "report: control plane rejected records; kept in the spool's rejected.log", {
        count: ids.length, ids: ids.slice(0, 20), error: ack.error.slice(0, MAX_ERROR),
      });
      spool
        .quarantine(ids)
        .catch((e: unknown) => log("error", "report: quarantining rejected records failed", { error: messageOf(e) }))
        .finally(() => {
          for (const id of ids) quarantining.delete(id);
        });
    }
    if (ack.error !== "" && ack.ids.length === 0 && ack.rejectedIds.length === 0) {
      lastError = `control plane: ${ack.error.slice(0, MAX_ERROR)}`;
      log("warn", "report: control plane could not store a batch; restarting the stream", { error: ack.error.slice(0, MAX_ERROR) });
      call.cancel();
      return;
    }
    if (call === stream) void pump(false);
  }

  function connect(): void {
    reconnectTimer = undefined;
    if (stopped) return;
    inFlight = new Map();
    batches = new Set();
    const call = client.report();
    stream = call;
    streams += 1;
    call.on("metadata", () => {
      if (stream !== call) return;
      // The stream is established (the control plane sends headers at once): the next
      // reconnect starts from the shortest delay, whether or not an ack came meanwhile.
      connected = true;
      failures = 0;
    });
    call.on("data", (ack: ReportAck) => onAck(call, ack));
    // A listener is mandatory (an unhandled 'error' would crash the process); 'status' follows.
    call.on("error", () => undefined);
    // Tell the control plane how far it is known to have stored this chain (chain anchors).
    spool.ackedHead?.().then(
      (head) => {
        if (stream === call && head.seq > 0n) call.write(create(SessionBatchSchema, { proxyId, records: [], ackedHead: { seq: head.seq, hash: head.lastHash } }));
      },
      (e: unknown) => log("warn", "report: reading the acked chain head failed", { error: messageOf(e) }),
    );
    call.on("status", (status: grpc.StatusObject) => {
      if (stream !== call) return;
      stream = undefined;
      connected = false;
      // Whatever was in flight is still in the spool: the next stream resends it.
      inFlight = new Map();
      batches = new Set();
      if (stopped) return;
      const delay = backoffDelay(failures, policy, options.random);
      failures += 1;
      const detail = `${grpc.status[status.code] ?? status.code}: ${status.details}`.slice(0, MAX_ERROR);
      if (status.code !== grpc.status.OK) lastError = detail;
      log(status.code === grpc.status.UNAUTHENTICATED ? "error" : "warn", "report stream ended; reconnecting", {
        address: options.address, status: detail, retryInMs: delay, unacked: spool.stats().pendingCount,
      });
      reconnectTimer = setTimeout(connect, delay);
    });
    // Everything unacked is eligible again on a new stream.
    void pump(true);
  }

  // The linger timer: partial batches go out at least every flushIntervalMs; it also
  // notices a batch that waited too long for its ack.
  const ticker = setInterval(() => {
    const call = stream;
    if (call === undefined) return;
    const now = Date.now();
    for (const batch of batches) {
      if (now - batch.sentAt > ackTimeoutMs) {
        lastError = `no ack within ${ackTimeoutMs} ms`;
        log("warn", "report: batch not acked in time; restarting the stream", { ackTimeoutMs });
        call.cancel();
        return;
      }
    }
    void pump(true);
  }, flushIntervalMs);
  ticker.unref();

  const unsubscribe = spool.onAppend(() => {
    if (unsent() >= batchSize) void pump(false);
  });

  connect();

  return {
    status: () => ({
      connected,
      pending: spool.stats().pendingCount,
      inFlightRecords: inFlight.size,
      inFlightBatches: batches.size,
      acked,
      rejected,
      streams,
      lastAckAt,
      lastError,
    }),
    async flush(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!stopped) {
        if (spool.stats().pendingCount - quarantining.size <= 0) return true;
        if (Date.now() >= deadline) return false;
        void pump(true);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return false;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      unsubscribe();
      const call = stream;
      stream = undefined;
      connected = false;
      call?.cancel();
      client.close();
    },
  };
}
