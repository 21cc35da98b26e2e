/**
 * Write-ahead journal of state-changing exchanges (issue #13: no upstream run without a
 * record, even when the proxy is killed with `kill -9` in the middle of it).
 *
 * Before a run, write or delete is forwarded, the exchange's provisional record (what the
 * gateway knows before the upstream answers, errorCode PROXY_CRASHED) is appended here and
 * fdatasynced (group commit: one fsync for all exchanges opened meanwhile). When the real
 * record is durable in the spool, a close mark is written synchronously. On the next start,
 * every entry still open whose record the spool does not hold is an exchange the crash cut:
 * its provisional record goes to the spool, so the control plane receives exactly one
 * record for it.
 *
 * Why a close mark written with writeSync is enough against `kill -9`: it reaches the page
 * cache in the same microtask in which the record's append resolves, before the reporter
 * can ship the record and the control plane can ack it (both need further event-loop turns).
 * So an open entry's record, if written at all, is still pending in the spool after the crash.
 * After a power loss the unsynced close marks can be lost; such an entry is reported as a
 * crash record although the exchange completed (one surplus record, never a missing one).
 *
 * File: frames (recording/frame.ts) of `0x01 | SessionRecord` (open) or `0x02 | id` (close).
 * Compacted (rewritten with the open entries only, fsync + rename) when it grows past
 * `compactBytes`, at most once per group commit.
 */
import { closeSync, fdatasync, fsyncSync, openSync, renameSync, write, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { frameHeader, scanFrames } from "./frame.js";

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

const OPEN = 0x01;
const CLOSE = 0x02;
const FILE = "intents.log";

/** errorCode of the record written for an exchange a proxy crash cut. */
export const PROXY_CRASHED = "PROXY_CRASHED";

export interface IntentJournalOptions {
  readonly dir: string;
  /** Rewrite the file with only the open entries once it is this large. Default 4 MiB. */
  readonly compactBytes?: number;
}

/** An entry's payload: its kind byte, then its body. */
function entry(kind: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(kind), body]);
}

/** A payload as it is written to the file (recording/frame.ts). */
const framed = (payload: Buffer): Buffer => Buffer.concat([frameHeader(payload), payload]);

/** Entries still open in `dir`'s journal (a torn tail is ignored), oldest first. */
async function readOpenEntries(path: string): Promise<Map<string, Buffer>> {
  const open = new Map<string, Buffer>();
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return open;
    throw err;
  }
  for (const f of scanFrames(data, 0).frames) {
    const payload = data.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength);
    const body = payload.subarray(1);
    if (payload[0] === OPEN) open.set(fromBinary(SessionRecordSchema, body).id, Buffer.from(payload));
    else if (payload[0] === CLOSE) open.delete(body.toString("utf8"));
  }
  return open;
}

interface Waiter {
  readonly bytes: Buffer;
  resolve(): void;
  reject(err: unknown): void;
}

export class IntentJournal {
  readonly #path: string;
  readonly #compactBytes: number;
  /** A raw descriptor (append mode): close marks are written with writeSync, compaction swaps it synchronously. */
  #fd: number;
  #size: number;
  /** Open entries (their encoded open frame payloads), kept for compaction. */
  readonly #open: Map<string, Buffer>;
  #queue: Waiter[] = [];
  #draining: Promise<void> | undefined;
  #failed: Error | undefined;

  private constructor(path: string, fd: number, size: number, open: Map<string, Buffer>, compactBytes: number) {
    this.#path = path;
    this.#fd = fd;
    this.#size = size;
    this.#open = open;
    this.#compactBytes = compactBytes;
  }

  /**
   * Opens the journal in `dir`. Returns it with the provisional records of the exchanges a
   * crash cut: entries still open whose record `recorded(id)` says the spool does not hold.
   * The caller appends those to the spool, then calls `close(id)` for each.
   */
  static async open(options: IntentJournalOptions, recorded: (id: string) => boolean): Promise<{ journal: IntentJournal; orphans: SessionRecord[] }> {
    const path = join(options.dir, FILE);
    const entries = await readOpenEntries(path);
    const orphans: SessionRecord[] = [];
    const stillOpen = new Map<string, Buffer>();
    for (const [id, payload] of entries) {
      if (recorded(id)) continue;
      orphans.push(fromBinary(SessionRecordSchema, payload.subarray(1)));
      stillOpen.set(id, payload);
    }
    // Start from a compact file: the open orphans only (closed as their records are written).
    const size = IntentJournal.#rewrite(path, stillOpen);
    return { journal: new IntentJournal(path, openSync(path, "a", 0o600), size, stillOpen, options.compactBytes ?? 4 * 1024 * 1024), orphans };
  }

  /** Writes `entries` to a fresh file, fsyncs it and renames it over `path` (synchronously: start-up and compaction only). */
  static #rewrite(path: string, entries: Map<string, Buffer>): number {
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    let size = 0;
    try {
      for (const payload of entries.values()) {
        const buf = framed(payload);
        writeSync(fd, buf);
        size += buf.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return size;
  }

  /** Number of exchanges forwarded whose record is not written yet. */
  get openCount(): number {
    return this.#open.size;
  }

  /**
   * Makes `provisional` durable before its exchange is forwarded. Resolves once it is
   * fdatasynced; rejects when the journal cannot be written (the exchange must not be forwarded).
   */
  begin(provisional: SessionRecord): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    const payload = entry(OPEN, toBinary(SessionRecordSchema, provisional));
    this.#open.set(provisional.id, payload);
    const bytes = framed(payload);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ bytes, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** The exchange's record is durable in the spool: its entry is closed (synchronously, see the module comment). */
  end(id: string): void {
    if (!this.#open.delete(id) || this.#failed) return;
    const bytes = framed(entry(CLOSE, Buffer.from(id, "utf8")));
    writeSync(this.#fd, bytes);
    this.#size += bytes.length;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        const buf = Buffer.concat(batch.map((w) => w.bytes));
        await writeAsync(this.#fd, buf);
        await fdatasyncAsync(this.#fd);
        this.#size += buf.length;
        for (const w of batch) w.resolve();
        if (this.#size > this.#compactBytes) this.#compact();
      } catch (err) {
        this.#failed = new Error(`intent journal write failed: ${(err as Error).message}`, { cause: err });
        for (const w of [...batch, ...this.#queue]) w.reject(this.#failed);
        this.#queue = [];
      }
    }
    this.#draining = undefined;
  }

  /**
   * Rewrites the file with the open entries only. Synchronous on purpose: no close mark can
   * interleave, and it runs between two group commits, when no write is in flight.
   */
  #compact(): void {
    this.#size = IntentJournal.#rewrite(this.#path, this.#open);
    closeSync(this.#fd);
    this.#fd = openSync(this.#path, "a", 0o600);
  }

  async close(): Promise<void> {
    await this.#draining;
    closeSync(this.#fd);
    this.#failed ??= new Error("intent journal closed");
  }
}
