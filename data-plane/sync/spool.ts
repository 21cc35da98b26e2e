/**
 * The proxy's local, append-only, crash-safe spool of session records (DESIGN.md §3):
 * every record is durable on disk before `append` resolves and stays there until the
 * control plane acks it.
 *
 * On disk (`dir`):
 *   seg-<first seq>.log   segments: a header with the chain state, then frames (length,
 *                         CRC-32, sealed record bytes) — recording/segment-file.ts, frame.ts,
 *                         sealed-record.ts
 *   seg-<first seq>.acks  ids acked from that segment, one per line (not fsynced: a lost
 *                         ack only means a resend, which the control plane absorbs by id)
 *   rejected.log          frames of records the control plane rejected for good (kept for
 *                         inspection, outside the pending set)
 *   LOCK                  owner of the directory (recording/dir-lock.ts)
 *
 * Build once (issue #14): `append` encodes the record once, hashes those bytes into the chain
 * and writes them; `pendingFrames` hands the same bytes to the reporter, which ships them
 * as they are. Only recovery, `pending` and `ackedHead` decode.
 *
 * Durability: appends are group-committed — one write + fdatasync for every append that
 * queued while the previous fsync ran — so concurrent requests share an fsync instead of
 * each paying for one. An append may instead ask for `durability: "written"` (plain reads
 * under AGENTGATE_READ_COMMIT=group): it resolves once its bytes are written to the OS,
 * which a kill -9 of the proxy cannot undo, and is fdatasynced within `groupCommitMs`
 * together with every other such append; only a crash of the host itself inside that
 * window can lose it. A record is offered to the reporter only once it is fsynced, so the
 * control plane never holds a record the proxy's chain could lose. A segment becomes deletable once all its records are acked; the
 * newest segment is kept, so the chain state is always recoverable.
 *
 * Failing closed: before a request is forwarded, the proxy `reserve`s space for its record
 * (synchronously, so concurrent admissions can never together overcommit the budget). When
 * the reservation cannot be made, the proxy answers 503 (GatewayErrorCode SPOOL_FULL) and
 * nothing reaches the upstream. An `append` with a reservation never fails for space: it
 * uses the reservation plus whatever is free, and a record larger than that is fitted
 * (recording/fit-record.ts: bulky content cut with a marker), never dropped. Appends without
 * a reservation are refused with SPOOL_FULL at `maxBytes`. A "fill-warning" event fires at
 * `warnRatio` (80%) first. After a write or fsync error the spool refuses all appends (SPOOL_IO) until
 * it is reopened: after a failed fsync the page cache can no longer be trusted, so the
 * only safe state is what recovery reads back from disk.
 */
import { constants } from "node:fs";
import { mkdir, open, stat } from "node:fs/promises";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { SessionRecordSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { log } from "../../common/observability/log.js";
import { ChainWriter, encodeContent } from "../../common/recording/chain.js";
import type { SealedContent } from "../../common/recording/chain.js";
import { sealedBytes } from "../recording/sealed-record.js";
import type { ChainState } from "../../common/recording/chain.js";
import { lockDir } from "../recording/dir-lock.js";
import type { DirLock } from "../recording/dir-lock.js";
import { FRAME_HEADER_BYTES, frameHeader } from "../recording/frame.js";
import { SEGMENT_HEADER_BYTES, ackLogName, createSegment, unlinkIfExists } from "../recording/segment-file.js";
import { recoverSpool } from "../recording/spool-recovery.js";
import { fitRecord } from "../recording/fit-record.js";
import type { RecoveredSpool, SpoolEntry, SpoolSegment } from "../recording/spool-recovery.js";

/** Why the spool refused an operation. SPOOL_FULL maps to HTTP 503 in data-plane/errors.ts. */
export type SpoolErrorCode = "SPOOL_FULL" | "SPOOL_CLOSED" | "SPOOL_IO" | "SPOOL_RECORD_TOO_LARGE" | "SPOOL_LOCKED";

/** The typed error every spool refusal is. */
export class SpoolError extends Error {
  override readonly name = "SpoolError";
  constructor(readonly code: SpoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Things an operator should see (logs, metrics); delivered to SpoolOptions.onEvent. */
export type SpoolEvent =
  | { type: "fill-warning"; fillRatio: number }
  | { type: "fill-ok"; fillRatio: number }
  | { type: "full"; fillRatio: number }
  | { type: "recovered"; segment: string; truncatedBytes: number }
  | { type: "corrupt-segment"; segment: string; movedTo: string }
  | { type: "io-error"; operation: string; message: string }
  | { type: "quarantined"; ids: string[] };

/**
 * Space held for one record from admission until its `append` (which consumes it) or its
 * `release` (the exchange ended without a record). Releasing twice is harmless.
 */
export interface Reservation {
  readonly bytes: number;
  /** Gives the space back; true if it was still held (false after an append or a release). */
  release(): boolean;
}

/** Options of Spool.append. */
export interface AppendOptions {
  /** The exchange's reservation: the record is fitted into it (plus free space) rather than refused. */
  readonly reservation?: Reservation;
  /**
   * "fsync" (default): resolve once the record is fdatasynced. "written": resolve once it is
   * written to the OS (survives a kill -9 of the process); fdatasynced within groupCommitMs.
   */
  readonly durability?: "fsync" | "written";
}

/** How to open a spool. */
export interface SpoolOptions {
  readonly dir: string;
  /** Disk budget: segments + ack logs + records waiting for fsync. */
  readonly maxBytes: number;
  /** Segment size at which a new segment starts. Default: maxBytes / 8, at most 8 MiB. */
  readonly segmentBytes?: number;
  /** Largest encoded record accepted. Default 3 MiB, so a record always fits grpc-js' default 4 MiB message. */
  readonly maxRecordBytes?: number;
  /**
   * Bytes reserved per exchange at admission (`reserve()`); a record fits into at least this
   * much. Default 64 KiB (at most maxBytes / 4, at least 16 KiB: a record's identifying fields).
   */
  readonly reserveBytes?: number;
  /** Longest wait before records appended with durability "written" are fdatasynced. Default 5 ms. */
  readonly groupCommitMs?: number;
  /** Fill ratio at which "fill-warning" is emitted. Default 0.8. */
  readonly warnRatio?: number;
  /** Receives operational events. Default: one JSON line per event on stderr. */
  readonly onEvent?: (event: SpoolEvent) => void;
}

/** Counters for health checks and metrics. */
export interface SpoolStats {
  /** Durable records not yet acked. */
  readonly pendingCount: number;
  readonly pendingBytes: number;
  /** Records sealed and waiting for their fsync. */
  readonly queuedCount: number;
  /** Bytes on disk counted against maxBytes (segments and ack logs). */
  readonly diskBytes: number;
  readonly maxBytes: number;
  /** (diskBytes + queued bytes + reserved bytes) / maxBytes. */
  readonly fillRatio: number;
  /** Bytes held by reservations of exchanges in progress. */
  readonly reservedBytes: number;
  /** maxBytes minus disk, queued and reserved bytes (never below 0). */
  readonly freeBytes: number;
  readonly segments: number;
  readonly rejectedCount: number;
  readonly rejectedBytes: number;
  /**
   * A new exchange could be recorded now: open, no I/O failure, and a reservation of
   * `reserveBytes` would succeed. /readyz reports not-ready otherwise.
   */
  readonly accepting: boolean;
}

/** Options of Spool.pending. */
export interface PendingOptions {
  /** Ids to skip (e.g. records already in flight); any object with `has`, such as a Set. */
  readonly exclude?: { has(id: string): boolean };
  /** Stop before this many frame bytes (at least one record is always returned). */
  readonly maxBytes?: number;
  /** Newest records first (the reporter's fresh records during a catch-up), instead of oldest first. */
  readonly newestFirst?: boolean;
}

/** A pending record as stored: its id and its sealed bytes (recording/sealed-record.ts), not decoded. */
export interface SpooledRecord {
  readonly id: string;
  readonly bytes: Uint8Array;
}

/** An open spool. */
export interface Spool {
  /**
   * Holds `reserveBytes` (or `bytes`) for one exchange's record. Synchronous, so concurrent
   * admissions are race-free. Throws SpoolError SPOOL_FULL (no room), SPOOL_CLOSED or SPOOL_IO.
   */
  reserve(bytes?: number): Reservation;
  /**
   * Seals `record` into the hash chain (seq, prev_hash, hash), writes it and resolves with
   * the sealed record once it is fsynced. Rejects with SpoolError without consuming a seq.
   * With a reservation, the reservation is consumed and the record is fitted into it (plus
   * free space) instead of being refused for its size.
   */
  append(record: SessionRecord, options?: AppendOptions): Promise<SessionRecord>;
  /** Up to `limit` durable, unacked records, oldest first (decoded). */
  pending(limit: number, options?: PendingOptions): Promise<SessionRecord[]>;
  /** Like `pending`, but each record's sealed bytes exactly as spooled (what the reporter ships). */
  pendingSealed(limit: number, options?: PendingOptions): Promise<SpooledRecord[]>;
  /** Forgets acked records; deletes segments whose records are all acked. Never rejects. */
  ack(ids: Iterable<string>): Promise<void>;
  /** Moves records the control plane rejected for good to rejected.log, out of the pending set. */
  quarantine(ids: Iterable<string>): Promise<void>;
  stats(): SpoolStats;
  /** The record `id` is durable or queued and not yet acked (intent-journal recovery asks). */
  holds(id: string): boolean;
  /** The chain's end including records still waiting for fsync. */
  chainState(): ChainState;
  /**
   * The newest record whose predecessors and itself have all been acked (seq 0 and the
   * genesis hash before any): what the control plane is known to have stored.
   */
  ackedHead(): Promise<ChainState>;
  /** Calls `listener` after each group commit (new pending records); returns an unsubscribe function. */
  onAppend(listener: () => void): () => void;
  /** Waits for queued appends, then closes files and releases the directory lock. */
  close(): Promise<void>;
}

interface Queued {
  readonly record: SessionRecord;
  readonly sealed: SealedContent;
  readonly payload: Uint8Array;
  readonly bytes: number;
  readonly durability: "fsync" | "written";
  readonly resolve: (record: SessionRecord) => void;
  readonly reject: (err: unknown) => void;
}

const MIB = 1024 * 1024;

/** Default event sink: the process log (info for recovery, warn at the threshold, error when refusing). */
function logEvent(event: SpoolEvent): void {
  const level = event.type === "fill-ok" || event.type === "recovered" ? "info" : event.type === "fill-warning" ? "warn" : "error";
  log[level](`spool ${event.type}`, { ...event });
}

/** SpoolOptions checked and completed with defaults. */
interface SpoolConfig {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly maxRecordBytes: number;
  readonly reserveBytes: number;
  readonly warnRatio: number;
  readonly groupCommitMs: number;
  readonly emit: (event: SpoolEvent) => void;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`spool: ${name} must be a positive integer, got ${value}`);
  return value;
}

/** Validates options before anything touches the disk (bad configuration throws). */
function resolveConfig(options: SpoolOptions): SpoolConfig {
  const maxBytes = positiveInt("maxBytes", options.maxBytes);
  const warnRatio = options.warnRatio ?? 0.8;
  if (!(warnRatio > 0 && warnRatio <= 1)) throw new TypeError(`spool: warnRatio must be in (0, 1], got ${warnRatio}`);
  return {
    dir: options.dir,
    maxBytes,
    // Small enough that acked data is released in steps well below the budget.
    segmentBytes: positiveInt("segmentBytes", options.segmentBytes ?? Math.max(64 * 1024, Math.min(8 * MIB, Math.floor(maxBytes / 8)))),
    maxRecordBytes: positiveInt("maxRecordBytes", options.maxRecordBytes ?? 3 * MIB),
    reserveBytes: positiveInt("reserveBytes", options.reserveBytes ?? Math.max(16 * 1024, Math.min(64 * 1024, Math.floor(maxBytes / 4)))),
    warnRatio,
    groupCommitMs: positiveInt("groupCommitMs", options.groupCommitMs ?? 5),
    emit: options.onEvent ?? logEvent,
  };
}

class FileSpool implements Spool {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  readonly #maxRecordBytes: number;
  readonly #reserveBytes: number;
  readonly #warnRatio: number;
  readonly #groupCommitMs: number;
  readonly #emit: (event: SpoolEvent) => void;
  readonly #lock: DirLock;
  readonly #segments: SpoolSegment[];
  /** Unacked durable records in seq order (Map iteration order is insertion order). */
  readonly #index: Map<string, SpoolEntry>;
  readonly #listeners = new Set<() => void>();
  #chain: ChainWriter;
  #queue: Queued[] = [];
  /** The batch being written and fsynced: sealed, no longer queued, not durable yet. */
  #writing: Queued[] = [];
  /** Written to the OS, in seq order, waiting for the next fdatasync (durability "written"). */
  #unsynced: Array<{ readonly q: Queued; readonly seg: SpoolSegment; readonly offset: number }> = [];
  #syncTimer: NodeJS.Timeout | undefined;
  #syncDue = false;
  readonly #queuedIds = new Set<string>();
  #queuedBytes = 0;
  #reservedBytes = 0;
  #pendingBytes = 0;
  #diskBytes: number;
  #draining: Promise<void> | undefined;
  #maintenance: Promise<void> = Promise.resolve();
  #failed: SpoolError | undefined;
  #closed = false;
  #warned = false;
  #full = false;
  #rejectedCount = 0;
  #rejectedBytes = 0;

  constructor(config: SpoolConfig, lock: DirLock, recovered: RecoveredSpool, rejectedBytes: number) {
    this.#dir = config.dir;
    this.#maxBytes = config.maxBytes;
    this.#segmentBytes = config.segmentBytes;
    this.#maxRecordBytes = config.maxRecordBytes;
    this.#reserveBytes = config.reserveBytes;
    this.#warnRatio = config.warnRatio;
    this.#groupCommitMs = config.groupCommitMs;
    this.#emit = config.emit;
    this.#lock = lock;
    this.#segments = recovered.segments;
    this.#index = recovered.index;
    this.#chain = new ChainWriter(recovered.chain);
    this.#diskBytes = recovered.segments.reduce((n, s) => n + s.size + s.ackBytes, 0);
    for (const e of recovered.index.values()) this.#pendingBytes += e.bytes;
    this.#rejectedBytes = rejectedBytes;
    this.#checkFill();
  }

  get #tail(): SpoolSegment | undefined {
    return this.#segments[this.#segments.length - 1];
  }

  reserve(bytes = this.#reserveBytes): Reservation {
    if (this.#closed) throw new SpoolError("SPOOL_CLOSED", "spool is closed");
    if (this.#failed) throw this.#failed;
    if (this.#usedBytes() + bytes > this.#maxBytes) throw this.#refuseFull();
    this.#full = false;
    this.#reservedBytes += bytes;
    this.#checkFill();
    let held = true;
    return {
      bytes,
      release: () => {
        if (!held) return false;
        held = false;
        this.#reservedBytes -= bytes;
        return true;
      },
    };
  }

  /**
   * Disk, fsync queue and reservations: everything counted against maxBytes. A fully acked
   * newest segment does not count: the next write starts a new segment and deletes it (so
   * a spool whose records all sit in one acked segment is not stuck full).
   */
  #usedBytes(): number {
    const tail = this.#tail;
    const reclaimable = tail !== undefined && tail.live === 0 ? tail.size + tail.ackBytes - SEGMENT_HEADER_BYTES : 0;
    return this.#diskBytes - reclaimable + this.#queuedBytes + this.#reservedBytes;
  }

  #refuseFull(): SpoolError {
    if (!this.#full) {
      this.#full = true;
      this.#emit({ type: "full", fillRatio: this.#fillRatio() });
    }
    return new SpoolError("SPOOL_FULL", `spool is full (${this.#maxBytes} bytes); records are not being acked`);
  }

  append(record: SessionRecord, options: AppendOptions = {}): Promise<SessionRecord> {
    const reservation = options.reservation;
    // From here on the reservation is spent, whatever happens: a second append must not reuse it.
    const reserved = reservation?.release() ? reservation.bytes : 0;
    if (this.#closed) return Promise.reject(new SpoolError("SPOOL_CLOSED", "spool is closed"));
    if (this.#failed) return Promise.reject(this.#failed);
    if (!record.id) return Promise.reject(new TypeError("spool: record.id is required"));
    // One frame per id: a second one would be dropped by the control plane (idempotent by
    // id), leaving a hole in its copy of the chain, and would break segment accounting.
    if (this.#index.has(record.id) || this.#queuedIds.has(record.id)) {
      return Promise.reject(new TypeError(`spool: record ${record.id} was already appended`));
    }
    // Encoded once: these bytes are hashed, written, and later shipped as they are.
    let content = encodeContent(record);
    let kept = record;
    // Seal first (the hash is part of the size), but roll back on refusal so that a
    // refused record never leaves a hole in the chain.
    const before = this.#chain.state;
    let sealed = this.#chain.sealContent(content);
    let payload = sealedBytes(sealed);
    // A reserved record may use its reservation even if acks or a segment header took the
    // free space meanwhile; above that it fits into what is free.
    const room = Math.max(reserved, this.#maxBytes - this.#usedBytes());
    const limit = reservation ? Math.min(this.#maxRecordBytes, room - FRAME_HEADER_BYTES) : this.#maxRecordBytes;
    if (payload.length > limit && reservation) {
      this.#chain = new ChainWriter(before);
      const fitted = fitRecord(record, limit, payload.length - content.length);
      if (fitted === undefined) return Promise.reject(this.#refuseFull());
      kept = fitted;
      content = encodeContent(fitted);
      sealed = this.#chain.sealContent(content);
      payload = sealedBytes(sealed);
    }
    const bytes = FRAME_HEADER_BYTES + payload.length;
    if (payload.length > this.#maxRecordBytes) {
      this.#chain = new ChainWriter(before);
      return Promise.reject(new SpoolError("SPOOL_RECORD_TOO_LARGE", `record ${record.id} is ${payload.length} bytes (max ${this.#maxRecordBytes})`));
    }
    if (bytes > room) {
      this.#chain = new ChainWriter(before);
      return Promise.reject(this.#refuseFull());
    }
    this.#full = false;
    return new Promise<SessionRecord>((resolve, reject) => {
      this.#queue.push({ record: kept, sealed, payload, bytes, durability: options.durability ?? "fsync", resolve, reject });
      this.#queuedIds.add(record.id);
      this.#queuedBytes += bytes;
      this.#checkFill();
      this.#draining ??= this.#drain();
    });
  }

  /**
   * Group commit: writes everything queued so far in one write, then fdatasyncs it (or, when
   * the whole batch asked for "written", leaves the fsync to the window's timer), until the
   * queue is empty and nothing is due.
   */
  async #drain(): Promise<void> {
    while ((this.#queue.length > 0 || this.#syncDue) && this.#failed === undefined) {
      const batch = this.#queue;
      this.#queue = [];
      this.#writing = batch;
      try {
        const strict = batch.some((q) => q.durability === "fsync");
        // With nothing written and unsynced before it, a batch holding a strict append is
        // written through the segment's O_DSYNC descriptor: durable when the write returns,
        // one syscall and one thread-pool trip instead of a write and then an fdatasync.
        const throughDsync = strict && this.#unsynced.length === 0;
        if (batch.length > 0) await this.#writeBatch(batch, throughDsync);
        if (throughDsync) this.#durable();
        else if (this.#syncDue || strict) await this.#sync();
      } catch (err) {
        this.#failed = new SpoolError("SPOOL_IO", `spool write failed: ${(err as Error).message}`, { cause: err });
        this.#emit({ type: "io-error", operation: "append", message: (err as Error).message });
        for (const q of [...this.#unsynced.map((u) => u.q), ...batch, ...this.#queue]) q.reject(this.#failed);
        this.#queue = [];
        this.#writing = [];
        this.#unsynced = [];
        this.#queuedIds.clear();
        this.#queuedBytes = 0;
      }
    }
    this.#writing = [];
    this.#draining = undefined;
  }

  /**
   * Writes a batch to the tail segment; "written" appends resolve here, the others once durable
   * (#sync, or at once with `dsync`: written through the O_DSYNC descriptor, see #drain).
   */
  async #writeBatch(batch: Queued[], dsync: boolean): Promise<void> {
    const total = batch.reduce((n, q) => n + q.bytes, 0);
    let tail = this.#tail;
    const full = tail !== undefined && tail.size > SEGMENT_HEADER_BYTES && (tail.size + total > this.#segmentBytes || tail.live === 0);
    if (tail === undefined || full) {
      tail = await this.#rotate(batch[0]!.sealed);
    }
    const parts: Uint8Array[] = [];
    for (const q of batch) parts.push(frameHeader(q.payload), q.payload);
    const buf = Buffer.concat(parts, total);
    const fh = dsync ? (tail.dsyncFh ??= await open(join(this.#dir, tail.name), constants.O_WRONLY | constants.O_DSYNC)) : tail.fh;
    for (let written = 0; written < total; ) {
      const { bytesWritten } = await fh.write(buf, written, total - written, tail.size + written);
      written += bytesWritten;
    }
    let offset = tail.size;
    for (const q of batch) {
      this.#unsynced.push({ q, seg: tail, offset });
      offset += q.bytes;
    }
    tail.size = offset;
    tail.live += batch.length; // written records keep their segment from being deleted
    this.#diskBytes += total;
    this.#queuedBytes -= total;
    this.#writing = [];
    let relaxed = false;
    for (const q of batch) {
      if (q.durability !== "written") continue;
      relaxed = true;
      q.resolve({ ...q.record, seq: q.sealed.seq, prevHash: q.sealed.prevHash, hash: q.sealed.hash });
    }
    if (relaxed && !dsync) this.#syncTimer ??= setTimeout(() => this.#syncWindowEnded(), this.#groupCommitMs);
  }

  #syncWindowEnded(): void {
    this.#syncTimer = undefined;
    this.#syncDue = true;
    this.#draining ??= this.#drain();
  }

  /** fdatasyncs every segment holding written records, then makes them pending (reportable), in seq order. */
  async #sync(): Promise<void> {
    this.#syncDue = false;
    clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    const synced = this.#unsynced;
    if (synced.length === 0) return;
    // (Nothing is written meanwhile: #drain runs one step at a time. On failure they stay in
    // #unsynced, to be rejected with the batch.)
    for (const seg of new Set(synced.map((u) => u.seg))) await seg.fh.datasync();
    this.#durable();
  }

  /** The written records are durable: they become pending (reportable) in seq order; strict appends resolve. */
  #durable(): void {
    this.#syncDue = false;
    clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    const synced = this.#unsynced;
    this.#unsynced = [];
    for (const { q, seg, offset } of synced) {
      this.#index.set(q.record.id, { seg, offset, bytes: q.bytes });
      this.#queuedIds.delete(q.record.id);
      this.#pendingBytes += q.bytes;
      if (q.durability === "fsync") q.resolve({ ...q.record, seq: q.sealed.seq, prevHash: q.sealed.prevHash, hash: q.sealed.hash });
    }
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A listener's bug must not break appends.
      }
    }
  }

  /** Starts a new segment whose header continues the chain just before `first`. */
  async #rotate(first: SealedContent): Promise<SpoolSegment> {
    const name = await createSegment(this.#dir, first.seq, { seq: first.seq - 1n, lastHash: first.prevHash });
    const seg: SpoolSegment = {
      name, fh: await open(join(this.#dir, name), "r+"), dsyncFh: undefined, size: SEGMENT_HEADER_BYTES, live: 0, ackBytes: 0, ackFh: undefined, deleted: false,
    };
    const previous = this.#tail;
    this.#segments.push(seg);
    this.#diskBytes += SEGMENT_HEADER_BYTES;
    // The previous tail may have been fully acked while it was still the tail (kept then).
    if (previous !== undefined && previous.live === 0) void this.#maintain(() => this.#deleteSegment(previous));
    return seg;
  }

  async pending(limit: number, options: PendingOptions = {}): Promise<SessionRecord[]> {
    return (await this.pendingSealed(limit, options)).map((r) => fromBinary(SessionRecordSchema, r.bytes));
  }

  async pendingSealed(limit: number, options: PendingOptions = {}): Promise<SpooledRecord[]> {
    if (this.#closed) throw new SpoolError("SPOOL_CLOSED", "spool is closed");
    const maxBytes = options.maxBytes ?? Infinity;
    const picked: Array<[string, SpoolEntry]> = [];
    let bytes = 0;
    // Map iterates oldest first; newest first needs a copy (only during a catch-up).
    const order = options.newestFirst ? [...this.#index].reverse() : this.#index;
    for (const [id, entry] of order) {
      if (picked.length >= limit) break;
      if (options.exclude?.has(id)) continue;
      if (picked.length > 0 && bytes + entry.bytes > maxBytes) break;
      picked.push([id, entry]);
      bytes += entry.bytes;
    }
    return this.#read(picked);
  }

  /** Reads the sealed bytes of the records at `entries`; adjacent frames of a segment share one read. */
  async #read(entries: ReadonlyArray<readonly [string, SpoolEntry]>): Promise<SpooledRecord[]> {
    const records: SpooledRecord[] = [];
    for (let i = 0; i < entries.length; ) {
      const first = entries[i]![1];
      let j = i + 1;
      let end = first.offset + first.bytes;
      while (j < entries.length && entries[j]![1].seg === first.seg && entries[j]![1].offset === end) end += entries[j++]![1].bytes;
      const buf = Buffer.allocUnsafe(end - first.offset);
      try {
        for (let got = 0; got < buf.length; ) {
          const { bytesRead } = await first.seg.fh.read(buf, got, buf.length - got, first.offset + got);
          if (bytesRead === 0) throw new Error(`short read in ${first.seg.name}`);
          got += bytesRead;
        }
      } catch (err) {
        // Acked and deleted while we read: these records are no longer pending.
        if (first.seg.deleted) {
          i = j;
          continue;
        }
        throw new SpoolError("SPOOL_IO", `spool read failed: ${(err as Error).message}`, { cause: err });
      }
      for (let k = i; k < j; k++) {
        const [id, entry] = entries[k]!;
        const at = entry.offset - first.offset;
        records.push({ id, bytes: buf.subarray(at + FRAME_HEADER_BYTES, at + entry.bytes) });
      }
      i = j;
    }
    return records;
  }

  ack(ids: Iterable<string>): Promise<void> {
    if (this.#closed) return Promise.resolve(); // a late ack is resent-and-acked after reopen
    const bySegment = this.#forget(ids);
    if (bySegment.size === 0) return Promise.resolve();
    return this.#maintain(async () => {
      for (const [seg, segIds] of bySegment) {
        if (seg.deleted) continue;
        if (seg.live === 0 && seg !== this.#tail) await this.#deleteSegment(seg);
        else await this.#appendAcks(seg, segIds);
      }
      this.#checkFill();
    });
  }

  /** Drops ids from the pending set, grouped by segment. */
  #forget(ids: Iterable<string>): Map<SpoolSegment, string[]> {
    const bySegment = new Map<SpoolSegment, string[]>();
    for (const id of ids) {
      const entry = this.#index.get(id);
      if (entry === undefined) continue; // unknown or already acked (e.g. a resend's ack)
      this.#index.delete(id);
      entry.seg.live--;
      this.#pendingBytes -= entry.bytes;
      const list = bySegment.get(entry.seg);
      if (list) list.push(id);
      else bySegment.set(entry.seg, [id]);
    }
    return bySegment;
  }

  async quarantine(ids: Iterable<string>): Promise<void> {
    if (this.#closed) return;
    const entries = [...ids].flatMap((id): Array<[string, SpoolEntry]> => {
      const entry = this.#index.get(id);
      return entry ? [[id, entry]] : [];
    });
    if (entries.length === 0) return;
    entries.sort(([, a], [, b]) => (a.seg === b.seg ? a.offset - b.offset : a.seg.name < b.seg.name ? -1 : 1));
    const records = await this.#read(entries);
    const parts: Uint8Array[] = [];
    for (const r of records) parts.push(frameHeader(r.bytes), r.bytes);
    const buf = Buffer.concat(parts);
    // Durable in rejected.log before leaving the pending set: "keep them for inspection".
    const fh = await open(join(this.#dir, "rejected.log"), "a");
    try {
      await fh.write(buf);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    this.#rejectedCount += records.length;
    this.#rejectedBytes += buf.length;
    this.#emit({ type: "quarantined", ids: records.map((r) => r.id) });
    await this.ack(records.map((r) => r.id));
  }

  async #appendAcks(seg: SpoolSegment, ids: string[]): Promise<void> {
    const text = ids.join("\n") + "\n";
    seg.ackFh ??= await open(join(this.#dir, ackLogName(seg.name)), "a");
    await seg.ackFh.write(text);
    const bytes = Buffer.byteLength(text);
    seg.ackBytes += bytes;
    this.#diskBytes += bytes;
  }

  async #deleteSegment(seg: SpoolSegment): Promise<void> {
    if (seg.deleted) return;
    seg.deleted = true;
    this.#segments.splice(this.#segments.indexOf(seg), 1);
    this.#diskBytes -= seg.size + seg.ackBytes;
    await seg.fh.close();
    await seg.dsyncFh?.close();
    await seg.ackFh?.close();
    // Log first: if only the ack log survived a crash, it is an orphan removed on open; if
    // only the log survived, its records come back as pending and are resent (harmless).
    await unlinkIfExists(join(this.#dir, seg.name));
    await unlinkIfExists(join(this.#dir, ackLogName(seg.name)));
  }

  /** Runs ack-log writes and deletions one at a time; their failures are reported, never thrown. */
  #maintain(task: () => Promise<void>): Promise<void> {
    const run = this.#maintenance.then(task).catch((err: unknown) => {
      this.#emit({ type: "io-error", operation: "ack", message: (err as Error).message });
    });
    this.#maintenance = run;
    return run;
  }

  #fillRatio(): number {
    return this.#usedBytes() / this.#maxBytes;
  }

  #checkFill(): void {
    const fillRatio = this.#fillRatio();
    if (!this.#warned && fillRatio >= this.#warnRatio) {
      this.#warned = true;
      this.#emit({ type: "fill-warning", fillRatio });
    } else if (this.#warned && fillRatio < this.#warnRatio - 0.1) {
      // Hysteresis, so a spool hovering at the threshold does not flood the log.
      this.#warned = false;
      this.#emit({ type: "fill-ok", fillRatio });
    }
  }

  holds(id: string): boolean {
    return this.#index.has(id) || this.#queuedIds.has(id);
  }

  stats(): SpoolStats {
    return {
      pendingCount: this.#index.size,
      pendingBytes: this.#pendingBytes,
      queuedCount: this.#queue.length,
      diskBytes: this.#diskBytes,
      maxBytes: this.#maxBytes,
      fillRatio: this.#fillRatio(),
      reservedBytes: this.#reservedBytes,
      freeBytes: Math.max(0, this.#maxBytes - this.#usedBytes()),
      segments: this.#segments.length,
      rejectedCount: this.#rejectedCount,
      rejectedBytes: this.#rejectedBytes,
      accepting: !this.#closed && this.#failed === undefined && this.#usedBytes() + this.#reserveBytes <= this.#maxBytes,
    };
  }

  chainState(): ChainState {
    return this.#chain.state;
  }

  async ackedHead(): Promise<ChainState> {
    // Just before the oldest record not acked yet: durable first, then those awaiting fsync.
    const oldest = this.#index.entries().next();
    const read = oldest.done ? undefined : (await this.#read([oldest.value]))[0];
    // (Records written but not fsynced, or being written, are neither queued nor indexed: not acked either.)
    const first = oldest.done ? (this.#unsynced[0]?.q ?? this.#writing[0] ?? this.#queue[0])?.sealed : read && fromBinary(SessionRecordSchema, read.bytes);
    if (first === undefined) return this.#index.size > 0 ? this.ackedHead() : this.#chain.state; // acked while read
    return { seq: first.seq - 1n, lastHash: first.prevHash };
  }

  onAppend(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#draining;
    if (this.#unsynced.length > 0 && this.#failed === undefined) {
      // Written under a group-commit window: fsync them now rather than at the timer.
      this.#syncDue = true;
      await (this.#draining ??= this.#drain());
    }
    clearTimeout(this.#syncTimer);
    await this.#maintenance;
    for (const seg of this.#segments) {
      await seg.fh.close().catch(() => undefined);
      await seg.dsyncFh?.close().catch(() => undefined);
      await seg.ackFh?.close().catch(() => undefined);
    }
    this.#listeners.clear();
    await this.#lock.release();
  }
}

/**
 * Opens (creating if needed) the spool in `options.dir`, takes its lock, recovers pending
 * records and the chain state, and truncates a torn last frame. Throws SpoolError
 * SPOOL_LOCKED if another live process has it open.
 */
export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const config = resolveConfig(options);
  await mkdir(options.dir, { recursive: true });
  let lock: DirLock;
  try {
    lock = await lockDir(options.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") throw new SpoolError("SPOOL_LOCKED", (err as Error).message, { cause: err });
    throw err;
  }
  try {
    const recovered = await recoverSpool(options.dir);
    for (const finding of recovered.findings) config.emit(finding);
    const rejectedBytes = await stat(join(options.dir, "rejected.log")).then((s) => s.size, () => 0);
    return new FileSpool(config, lock, recovered, rejectedBytes);
  } catch (err) {
    await lock.release();
    throw err;
  }
}
