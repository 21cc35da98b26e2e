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
 * version: the store merges them into the bindings in force, hands the compiler the merged
 * snapshot WITH the change (so it can update its indexes instead of rebuilding them), and
 * saves the merged, complete snapshot — the disk copy is never a delta.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { RoleBinding, Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";

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

/**
 * What a delta changed, for a compiler that can update its previous result instead of
 * starting over: the snapshot it is given is the complete merged one either way, so a
 * compiler may ignore this and compile from scratch.
 */
export interface SnapshotChange<T> {
  readonly previous: T;
  readonly added: readonly RoleBinding[];
  readonly removed: readonly RoleBinding[];
}

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

/** Identity of a binding resource in a delta (role, issuer, group, subject). */
const resourceKey = (b: RoleBinding): string => `${b.role}\u0000${b.issuer}\u0000${b.group}\u0000${b.subject}`;

/** Options of `SnapshotStore`. */
export interface SnapshotStoreOptions<T> {
  /** Snapshot → compiled form (with the change when a delta led to it); throws on an invalid snapshot (the last good one stays). */
  compile: (snapshot: Snapshot, change?: SnapshotChange<T>) => T;
  /** Where the last good snapshot is kept; no persistence when omitted. */
  diskPath?: string;
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Holds the last good compiled snapshot; generic over the compiled form `T`. */
export class SnapshotStore<T> {
  readonly #compile: (snapshot: Snapshot, change?: SnapshotChange<T>) => T;
  readonly #diskPath: string | undefined;
  readonly #listeners = new Set<SnapshotListener<T>>();
  #current: CurrentSnapshot<T> | undefined;
  // The bindings in force, by resource key: what deltas are applied to (issue 18).
  #bindings = new Map<string, RoleBinding>();
  // Disk writes run one at a time, in apply order; a queued write that has been
  // superseded by a newer version is skipped.
  #writes: Promise<void> = Promise.resolve();
  #newestQueued = -1n;

  constructor(options: SnapshotStoreOptions<T>) {
    this.#compile = options.compile;
    this.#diskPath = options.diskPath;
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
    const stale = this.#staleness(snapshot.version);
    if (stale !== undefined) return stale;
    const full = snapshot.baseVersion === 0n ? this.#applyFull(snapshot) : this.#applyDelta(snapshot);
    const warnings = this.#swap(snapshot.version, full.compiled);
    if (this.#diskPath !== undefined) {
      const error = await this.#persist(this.#diskPath, full.snapshot);
      if (error !== undefined) warnings.push(`snapshot not saved to disk: ${error}`);
    }
    return { kind: "applied", version: snapshot.version, warnings };
  }

  #applyFull(snapshot: Snapshot): { snapshot: Snapshot; compiled: T } {
    const compiled = this.#compile(snapshot);
    this.#bindings = new Map(snapshot.roleBindings.map((b) => [resourceKey(b), b]));
    return { snapshot, compiled };
  }

  /**
   * A delta: only on top of exactly its base version. The binding map is changed in place
   * and restored if compiling fails, so a rejected delta leaves everything as it was.
   */
  #applyDelta(delta: Snapshot): { snapshot: Snapshot; compiled: T } {
    const current = this.#current;
    if (current === undefined || current.version !== delta.baseVersion) throw new DeltaBaseMismatchError(delta.baseVersion, current?.version);
    const undo: Array<[string, RoleBinding | undefined]> = [];
    const removed: RoleBinding[] = [];
    const added: RoleBinding[] = [];
    for (const b of delta.removedRoleBindings) {
      const key = resourceKey(b);
      const had = this.#bindings.get(key);
      if (had === undefined) continue;
      undo.push([key, had]);
      this.#bindings.delete(key);
      removed.push(had);
    }
    for (const b of delta.roleBindings) {
      const key = resourceKey(b);
      if (this.#bindings.has(key)) continue;
      undo.push([key, undefined]);
      this.#bindings.set(key, b);
      added.push(b);
    }
    const merged = create(SnapshotSchema, { ...delta, baseVersion: 0n, removedRoleBindings: [], roleBindings: [...this.#bindings.values()] });
    try {
      return { snapshot: merged, compiled: this.#compile(merged, { previous: current.compiled, added, removed }) };
    } catch (e) {
      for (const [key, had] of undo.reverse()) {
        if (had === undefined) this.#bindings.delete(key);
        else this.#bindings.set(key, had);
      }
      throw e;
    }
  }

  /**
   * Loads the snapshot saved by a previous run (call at start-up, before serving). Never
   * throws: a missing, unreadable or no-longer-compiling file is reported as a value.
   */
  async loadFromDisk(): Promise<LoadOutcome> {
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
    let snapshot: Snapshot;
    let compiled: T;
    try {
      snapshot = fromBinary(SnapshotSchema, bytes);
      if (snapshot.baseVersion !== 0n) throw new Error("the saved snapshot is a delta");
      compiled = this.#compile(snapshot);
    } catch (e) {
      return { kind: "invalid", error: errorMessage(e) };
    }
    // Checked after compiling: a snapshot may have arrived from the network meanwhile.
    const stale = this.#staleness(snapshot.version);
    if (stale !== undefined) return stale;
    this.#bindings = new Map(snapshot.roleBindings.map((b) => [resourceKey(b), b]));
    warnings.push(...this.#swap(snapshot.version, compiled));
    return { kind: "loaded", version: snapshot.version, warnings };
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

  /** Queues an atomic write of `snapshot`; resolves with an error message, or undefined on success/skip. */
  #persist(path: string, snapshot: Snapshot): Promise<string | undefined> {
    const version = snapshot.version;
    if (version > this.#newestQueued) this.#newestQueued = version;
    const bytes = toBinary(SnapshotSchema, snapshot);
    const run = this.#writes.then(async () => {
      if (version < this.#newestQueued) return undefined; // a newer write is queued behind us
      try {
        await writeFileAtomic(path, bytes);
        return undefined;
      } catch (e) {
        return errorMessage(e);
      }
    });
    this.#writes = run.then(() => undefined);
    return run;
  }
}

/**
 * Writes `bytes` to `path` so that a crash leaves either the old file or the new one:
 * temp file in the same directory (mode 0600 from creation, never wider), fsync, rename
 * over the target, fsync the directory so the rename itself is durable.
 */
async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const file = await open(tmp, "wx", 0o600);
    try {
      await file.writeFile(bytes);
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
}
