/**
 * The proxy's current policy: the last good Snapshot, compiled (DESIGN.md §3, EXAMPLES.md
 * habits 3 and 5). Requests call `current()` once and use what they got; a new snapshot is
 * compiled by `apply` (called by the sync client, never on a request) and swapped in whole
 * only if compiling succeeds. Versions are monotonic: anything not newer is dropped.
 *
 * The last good snapshot is also kept on disk (atomically, mode 0600: it holds upstream
 * credentials), so a proxy restarted while the control plane is down still serves it.
 *
 * Deltas (issue 18: Snapshot.base_version set) apply only on top of exactly their base
 * version. The role bindings in force live in one compact {@link BindingIndex}, built from a
 * full snapshot or derived from the previous one by a delta, and handed to the compiler with
 * the rest of the snapshot (the small collections); the decoded snapshot itself is not kept.
 *
 * On disk a change costs what it changed, not the whole policy: the complete snapshot is
 * the base file (`diskPath`: a full snapshot received large is written as the bytes received,
 * no re-encoding), and each delta applied since is appended to a journal beside
 * it (`<diskPath>.journal`, checksummed frames as in the spool, fdatasynced, mode 0600).
 * Loading replays the journal's chain of deltas on top of the base (a torn last frame or a
 * break in the chain ends it). Once the journal outgrows half the base (at least 1 MiB),
 * the snapshot in force is written as the new base and the journal starts over. A base is
 * written from the index in chunks of bindings (protobuf messages concatenate: each chunk
 * appends to role_bindings), encoded straight from the index, so no second copy of the
 * bindings (and no binding message objects) exists at any time.
 *
 * Large snapshots are indexed in chunks (`indexChunk` bindings, default 10,000) with the
 * event loop yielding between them (issue 18: a 500,000-binding snapshot was seconds of one
 * blocked loop — requests and gRPC keepalives waited). Requests meanwhile get the last good
 * snapshot, whole: the new index is built aside and swapped in by one assignment once
 * complete and compiled. Applies run one at a time, in call order.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat, truncate, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { RoleBinding, Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { frameHeader, scanFrames } from "../recording/frame.js";
import { BindingIndex, type BindingIndexEdit } from "./binding-index.js";
import { SnapshotInvalidError } from "./compile.js";
import { decodeSnapshot, wireBindingsOf } from "./snapshot-wire.js";
import { collectGarbageSoon } from "./gc-hint.js";

/** The snapshot being enforced: its version and compiled form. Immutable once published. */
export interface CurrentSnapshot<T> {
  readonly version: bigint;
  readonly compiled: T;
}

/**
 * Result of `apply`. `warnings` carries non-fatal problems (the snapshot IS in effect):
 * the disk copy could not be written, a listener threw.
 */
export type ApplyOutcome =
  | { kind: "applied"; version: bigint; warnings: string[] }
  | { kind: "stale"; version: bigint; currentVersion: bigint };

/** Result of `loadFromDisk`. */
export type LoadOutcome =
  | { kind: "loaded"; version: bigint; warnings: string[] }
  | { kind: "disabled" } // no diskPath configured
  | { kind: "missing" }
  | { kind: "stale"; version: bigint; currentVersion: bigint }
  | { kind: "invalid"; error: string };

/** Receives each newly swapped-in snapshot. */
export type SnapshotListener<T> = (current: CurrentSnapshot<T>) => void;

/** A delta whose base is not the version in force (a message was lost or rejected): resync. */
export class DeltaBaseMismatchError extends Error {
  constructor(
    readonly baseVersion: bigint,
    readonly currentVersion: bigint | undefined,
  ) {
    super(`delta based on version ${baseVersion}, but version ${currentVersion ?? "none"} is in force`);
    this.name = "DeltaBaseMismatchError";
  }
}

/** Options of `SnapshotStore`. */
export interface SnapshotStoreOptions<T> {
  /**
   * Compiles the snapshot in force: its small collections (`snapshot.roleBindings` is empty)
   * and its role bindings (`bindings`); throws on an invalid snapshot (the last good one stays).
   */
  compile: (snapshot: Snapshot, bindings: BindingIndex) => T;
  /** Where the last good snapshot is kept; no persistence when omitted. */
  diskPath?: string;
  /** The journal of deltas may grow to half its base, and at least to this (default 1 MiB). */
  journalMinBytes?: number;
  /** Bindings indexed between two yields to the event loop (default 10,000). */
  indexChunk?: number;
  /**
   * Called once a change of at least 100,000 bindings is in force and on disk (default: one
   * full GC soon, gc-hint.ts): what applying it left behind is garbage an idle proxy would
   * keep for a long time.
   */
  afterLargeChange?: () => void;
}

/** Bindings in one apply (added + removed) from which `afterLargeChange` runs. */
export const LARGE_CHANGE_BINDINGS = 100_000;

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Holds the last good compiled snapshot; generic over the compiled form `T`. */
export class SnapshotStore<T> {
  readonly #compile: (snapshot: Snapshot, bindings: BindingIndex) => T;
  readonly #diskPath: string | undefined;
  readonly #listeners = new Set<SnapshotListener<T>>();
  #current: CurrentSnapshot<T> | undefined;
  // The snapshot in force without its role bindings (small), and its bindings: what deltas
  // apply to and what a new base file is written from.
  #rest: Snapshot | undefined;
  #bindings = BindingIndex.of([], []);
  // Disk writes run one at a time, in apply order; a queued write that a newer complete
  // snapshot (queued behind it) supersedes is skipped.
  #writes: Promise<void> = Promise.resolve();
  #newestBaseQueued = -1n;
  // Sizes on disk: the base file and the journal of deltas appended since.
  #baseBytes = 0;
  #journalBytes = 0;
  readonly #journalMinBytes: number;
  readonly #indexChunk: number;
  // Applies (and the disk load) run one at a time: each waits for the one before.
  #applying: Promise<unknown> = Promise.resolve();
  // Bindings the apply running now has gone through (added + removed).
  #seen = 0;
  readonly #afterLargeChange: () => void;

  constructor(options: SnapshotStoreOptions<T>) {
    this.#compile = options.compile;
    this.#diskPath = options.diskPath;
    this.#journalMinBytes = options.journalMinBytes ?? 1024 * 1024;
    this.#indexChunk = Math.max(1, options.indexChunk ?? 10_000);
    this.#afterLargeChange = options.afterLargeChange ?? (() => collectGarbageSoon());
  }

  /** Runs `job` after every apply queued before it. */
  #serially<R>(job: () => Promise<R>): Promise<R> {
    const run = this.#applying.then(job, job);
    this.#applying = run.catch(() => undefined);
    return run;
  }

  /** The watch client may ask for deltas: this store applies them. */
  readonly acceptsDelta = true;

  /** The snapshot in effect, or undefined before the first one. Read it once per request. */
  current(): CurrentSnapshot<T> | undefined {
    return this.#current;
  }

  /**
   * Compiles `snapshot` and, if newer than the current one, swaps it in and persists it.
   * Throws (keeping the last good snapshot) if compiling throws. Resolves once the disk
   * copy is written (or failed, reported as a warning).
   */
  async apply(snapshot: Snapshot): Promise<ApplyOutcome> {
    const { outcome, saved } = await this.applyNow(snapshot);
    if (outcome.kind === "applied") outcome.warnings.push(...(await saved));
    return outcome;
  }

  /**
   * `apply` without waiting for the disk: the snapshot is in force when this returns (enforce
   * first), and `saved` resolves with the disk copy's warnings once it is written. The disk
   * still only ever holds a complete snapshot that was in force (writes are atomic, in apply
   * order); a crash before `saved` leaves the previous one there, and the proxy resumes from
   * it (the control plane sends what changed since that version). Rejects if compiling throws.
   */
  applyNow(snapshot: Snapshot): Promise<{ outcome: ApplyOutcome; saved: Promise<string[]> }> {
    return this.#serially(async () => {
      const stale = this.#staleness(snapshot.version);
      if (stale !== undefined) return { outcome: stale, saved: Promise.resolve([]) };
      this.#seen = 0;
      const warnings = await this.#compileAndSwap(snapshot);
      const outcome: ApplyOutcome = { kind: "applied", version: snapshot.version, warnings };
      const large = this.#seen >= LARGE_CHANGE_BINDINGS;
      const saved =
        this.#diskPath === undefined
          ? Promise.resolve<string[]>([])
          : this.#persist(this.#diskPath, snapshot).then((error) => (error === undefined ? [] : [`snapshot not saved to disk: ${error}`]));
      if (large) saved.then(() => this.#afterLargeChange()).catch(() => undefined); // a hint: its failure changes nothing
      return { outcome, saved };
    });
  }

  /** Resolves once every disk write queued so far is done (graceful stop). */
  async flushed(): Promise<void> {
    await this.#writes;
  }

  /**
   * Compiles a full snapshot, or a delta on top of exactly its base version, and swaps it in;
   * throws (changing nothing) if it does not compile. Nothing keeps `snapshot` afterwards.
   * The index is built aside, yielding to the event loop every `indexChunk` bindings; the
   * snapshot in force is untouched until the one assignment in `#swap`. Callers serialize.
   */
  async #compileAndSwap(snapshot: Snapshot): Promise<string[]> {
    const problems: string[] = [];
    const wire = wireBindingsOf(snapshot);
    let edit: BindingIndexEdit;
    if (snapshot.baseVersion === 0n) {
      edit = BindingIndex.empty().edit(problems);
    } else {
      const current = this.#current;
      if (current === undefined || current.version !== snapshot.baseVersion) throw new DeltaBaseMismatchError(snapshot.baseVersion, current?.version);
      edit = this.#bindings.edit(problems);
      await this.#inChunks(wire?.removed() ?? snapshot.removedRoleBindings, (b) => edit.remove(b));
    }
    await this.#inChunks(wire?.added() ?? snapshot.roleBindings, (b) => edit.add(b));
    const bindings = edit.finish();
    if (problems.length > 0) throw new SnapshotInvalidError(problems);
    const rest = create(SnapshotSchema, { ...snapshot, baseVersion: 0n, removedRoleBindings: [], roleBindings: [] });
    const compiled = this.#compile(rest, bindings);
    this.#rest = rest;
    this.#bindings = bindings;
    return this.#swap(snapshot.version, compiled);
  }

  /** Calls `each` on every binding, yielding to the event loop between chunks (never before the first). */
  async #inChunks(bindings: Iterable<RoleBinding>, each: (b: RoleBinding) => void): Promise<void> {
    let n = 0;
    for (const b of bindings) {
      if (n === this.#indexChunk) {
        n = 0;
        await yieldToLoop();
      }
      each(b);
      n += 1;
      this.#seen += 1;
    }
  }

  /**
   * Loads the snapshot saved by a previous run (call at start-up, before serving). Never
   * throws: a missing, unreadable or no-longer-compiling file is reported as a value.
   */
  loadFromDisk(): Promise<LoadOutcome> {
    return this.#serially(() => this.#loadFromDisk());
  }

  async #loadFromDisk(): Promise<LoadOutcome> {
    const path = this.#diskPath;
    if (path === undefined) return { kind: "disabled" };
    let bytes: Buffer;
    const warnings: string[] = [];
    try {
      bytes = await readFile(path);
      const mode = (await stat(path)).mode & 0o777;
      if ((mode & 0o077) !== 0) warnings.push(`${path} is readable by others (mode ${mode.toString(8)}); it holds credentials`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
      return { kind: "invalid", error: errorMessage(e) };
    }
    try {
      const snapshot = decodeSnapshot(bytes);
      if (snapshot.baseVersion !== 0n) throw new Error("the saved snapshot is a delta");
      // (No await since the read: nothing newer can have been applied meanwhile unless it was already in force.)
      const stale = this.#staleness(snapshot.version);
      if (stale !== undefined) return stale;
      warnings.push(...(await this.#compileAndSwap(snapshot)));
    } catch (e) {
      return { kind: "invalid", error: errorMessage(e) };
    }
    this.#baseBytes = bytes.length;
    warnings.push(...(await this.#replayJournal(`${path}.journal`)));
    return { kind: "loaded", version: this.#current!.version, warnings };
  }

  /**
   * Applies the journal's deltas that continue the version in force, in order. Entries at or
   * below it are leftovers of a base written after them; a break in the chain, a delta that
   * does not compile or a torn frame ends the replay, and the journal is cut there so that
   * later appends continue a valid chain.
   */
  async #replayJournal(journalPath: string): Promise<string[]> {
    let bytes: Buffer;
    try {
      bytes = await readFile(journalPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      return [`snapshot journal unreadable, ignored: ${errorMessage(e)}`];
    }
    const warnings: string[] = [];
    const { frames, validEnd } = scanFrames(bytes, 0);
    let end = 0;
    for (const f of frames) {
      let delta: Snapshot;
      try {
        delta = fromBinary(SnapshotSchema, bytes.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength));
        const version = this.#current!.version;
        if (delta.version > version) {
          if (delta.baseVersion !== version) {
            warnings.push(`snapshot journal breaks at version ${delta.version} (based on ${delta.baseVersion}, ${version} in force): replay stops`);
            break;
          }
          warnings.push(...(await this.#compileAndSwap(delta)));
        }
      } catch (e) {
        warnings.push(`snapshot journal entry rejected, replay stops: ${errorMessage(e)}`);
        break;
      }
      end = f.payloadOffset + f.payloadLength;
    }
    if (end < bytes.length) {
      if (validEnd < bytes.length) warnings.push(`snapshot journal had a torn tail (${bytes.length - validEnd} bytes): cut`);
      await truncate(journalPath, end).catch((e: unknown) => warnings.push(`snapshot journal not cut: ${errorMessage(e)}`));
    }
    this.#journalBytes = end;
    return warnings;
  }

  /** Groups of the role bindings in force (tests and diagnostics). */
  boundGroups(): string[] {
    return [...this.#bindings.bindings()].map((b) => b.group || b.subject);
  }

  /** Subscribes to swaps; returns the unsubscribe function. Listeners should not throw. */
  onChange(listener: SnapshotListener<T>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #staleness(version: bigint): ApplyOutcome & { kind: "stale" } | undefined {
    const current = this.#current;
    return current !== undefined && version <= current.version
      ? { kind: "stale", version, currentVersion: current.version }
      : undefined;
  }

  // The only place `#current` changes: one assignment, so readers see old or new, never a mix.
  #swap(version: bigint, compiled: T): string[] {
    const next: CurrentSnapshot<T> = Object.freeze({ version, compiled });
    this.#current = next;
    const warnings: string[] = [];
    for (const listener of this.#listeners) {
      try {
        listener(next);
      } catch (e) {
        warnings.push(`snapshot listener failed: ${errorMessage(e)}`);
      }
    }
    return warnings;
  }

  /**
   * Queues the disk copy of what was just applied: a delta is appended to the journal
   * (unless the journal has outgrown its base: then, like a complete snapshot, the merged
   * snapshot becomes the new base and the journal is emptied). A complete snapshot received
   * large is written as received (it is the complete snapshot); otherwise the base is encoded
   * from the index. Resolves with an error message, or undefined on success or skip.
   */
  #persist(path: string, applied: Snapshot): Promise<string | undefined> {
    const rest = this.#rest!;
    const bindings = this.#bindings;
    const version = rest.version;
    const received = wireBindingsOf(applied)?.bytes;
    const isDelta = applied.baseVersion !== 0n;
    const deltaBytes = isDelta ? (received ?? toBinary(SnapshotSchema, applied)) : undefined;
    const baseBytes = isDelta ? undefined : received;
    const asBase = deltaBytes === undefined || this.#journalBytes + deltaBytes.length > Math.max(this.#journalMinBytes, this.#baseBytes / 2);
    if (asBase && version > this.#newestBaseQueued) this.#newestBaseQueued = version;
    // Planned now, in apply order: the journal size decides, and it grows as deltas are queued.
    if (asBase) this.#journalBytes = 0;
    else this.#journalBytes += deltaBytes.length + 8;
    const run = this.#writes.then(async () => {
      if (version < this.#newestBaseQueued) return undefined; // a newer complete copy is queued behind us
      try {
        if (asBase) {
          this.#baseBytes = await writeFileAtomic(path, baseBytes !== undefined ? [baseBytes] : snapshotChunks(rest, bindings));
          await unlink(`${path}.journal`).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== "ENOENT") throw e;
          });
        } else {
          await appendDurably(`${path}.journal`, Buffer.concat([frameHeader(deltaBytes), deltaBytes]));
        }
        return undefined;
      } catch (e) {
        return errorMessage(e);
      }
    });
    this.#writes = run.then(() => undefined);
    return run;
  }
}

/** Bindings per chunk of a base file: bounded memory while writing 100,000s. */
const BASE_CHUNK = 10_000;

/** Snapshot.role_bindings and RoleBinding's fields (policy.proto). */
const ROLE_BINDINGS_FIELD = 4;
const BINDING_FIELD = { role: 1, issuer: 2, group: 3, subject: 4 } as const;

/**
 * The complete snapshot `rest` + `bindings` as consecutive protobuf messages: `rest`, then
 * messages holding only role bindings. Parsed as one Snapshot, repeated fields of
 * concatenated messages append (protobuf encoding rules), so this is the complete snapshot.
 * The bindings are encoded by hand from the index's entries: through RoleBinding messages,
 * a 500,000-binding base made 500,000 objects that lived across the file writes' awaits,
 * were promoted and stayed as old-generation garbage (issue 18, proxy RSS).
 */
function* snapshotChunks(rest: Snapshot, bindings: BindingIndex): Generator<Uint8Array> {
  yield toBinary(SnapshotSchema, rest);
  let writer = new BinaryWriter();
  let n = 0;
  for (const { kind, issuer, name, roles } of bindings.entries()) {
    for (const role of roles) {
      writer
        .tag(ROLE_BINDINGS_FIELD, WireType.LengthDelimited)
        .fork()
        .tag(BINDING_FIELD.role, WireType.LengthDelimited)
        .string(role)
        .tag(BINDING_FIELD.issuer, WireType.LengthDelimited)
        .string(issuer)
        .tag(BINDING_FIELD[kind], WireType.LengthDelimited)
        .string(name)
        .join();
      if (++n === BASE_CHUNK) {
        yield writer.finish();
        writer = new BinaryWriter();
        n = 0;
      }
    }
  }
  if (n > 0) yield writer.finish();
}

/** Appends `bytes` to `path` (created mode 0600) and fdatasyncs it. */
async function appendDurably(path: string, bytes: Uint8Array): Promise<void> {
  const file = await open(path, "a", 0o600);
  try {
    await file.write(bytes);
    await file.datasync();
  } finally {
    await file.close();
  }
}

/**
 * Writes `chunks` to `path` so that a crash leaves either the old file or the new one:
 * temp file in the same directory (mode 0600 from creation, never wider), fsync, rename
 * over the target, fsync the directory so the rename itself is durable. Chunks are made
 * one at a time, as they are written. Resolves with the size written.
 */
async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>): Promise<number> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  let size = 0;
  try {
    const file = await open(tmp, "wx", 0o600);
    try {
      for (const chunk of chunks) {
        await file.writeFile(chunk); // (at the current position, looping over short writes)
        size += chunk.length;
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dirHandle = await open(dir, "r");
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return size;
}
