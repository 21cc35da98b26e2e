/**
 * Holds the current policy Snapshot and pushes it to every open Watch, in the manner of
 * go-control-plane's snapshot cache (DESIGN.md §3, EXAMPLES.md habit 5): state of the
 * world, compared by version for equality, coalesced under bursts.
 *
 * Transport-agnostic: a watcher is a `send` function that resolves when the watcher can
 * take the next snapshot (for gRPC: when the stream's write callback fires, i.e. the
 * message went out under HTTP/2 flow control). While a watcher is busy, newer snapshots
 * only replace `current`; when it frees up it gets the newest one, never a queue of stale
 * ones. The control plane's store layer (DB → Snapshot compiler) calls `publish`.
 *
 * Incremental (issue 18): `publish` may come with the binding delta from the previous
 * version; a watcher that accepts deltas and is at a version the recent history reaches
 * gets one delta message (what changed since ITS version) instead of the whole snapshot.
 * The delta is computed per send: the cost is the net change, not the world.
 */
import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { DeltaHistory } from "./delta-history.js";
import type { BindingDelta } from "./incremental.js";

/** Delivers one snapshot to a watcher; resolve when ready for the next, reject to drop the watcher. */
export type SnapshotSend = (snapshot: Snapshot) => Promise<void>;

/** One open watch, as registered with `SnapshotPublisher.watch`. */
export interface WatchOptions {
  /** The version the watcher already has (0 = none); it is not sent again. */
  lastVersion: bigint;
  send: SnapshotSend;
  /** Called once if `send` fails; the watcher is already removed. */
  onError?: (error: unknown) => void;
  /** The watcher applies delta messages (base_version set); otherwise it always gets full snapshots. */
  acceptsDelta?: boolean;
}

interface Watcher {
  lastSent: bigint;
  busy: boolean;
  closed: boolean;
  acceptsDelta: boolean;
  send: SnapshotSend;
  onError: ((error: unknown) => void) | undefined;
}

/** The in-memory source of truth for the snapshot being served, and its watchers. */
export class SnapshotPublisher {
  #current: Snapshot | undefined;
  readonly #watchers = new Set<Watcher>();
  readonly #history = new DeltaHistory();

  /** Optionally starts with a snapshot (e.g. compiled from the DB at boot). */
  constructor(initial?: Snapshot) {
    if (initial !== undefined) this.#current = initial;
  }

  /** The snapshot being served, or undefined before the first publish. */
  current(): Snapshot | undefined {
    return this.#current;
  }

  /** Number of open watches (for metrics and tests). */
  get watcherCount(): number {
    return this.#watchers.size;
  }

  /**
   * Makes `snapshot` current and notifies every watcher whose last sent version differs.
   * Returns false (and changes nothing) unless its version is greater than the current
   * one: versions come from the DB's SnapshotVersion and only grow, so an older or equal
   * one is a late duplicate from a racing writer. The snapshot must not be mutated after.
   * Versions start at 1: 0 is what a proxy without any snapshot sends as `last_version`,
   * so a snapshot numbered 0 would never reach it.
   */
  publish(snapshot: Snapshot, delta?: BindingDelta): boolean {
    if (this.#current !== undefined && snapshot.version <= this.#current.version) return false;
    // A delta counts only from the version being served (a skipped version breaks the chain).
    this.#history.record(snapshot.version, delta !== undefined && delta.baseVersion === this.#current?.version ? delta : undefined);
    this.#current = snapshot;
    for (const watcher of this.#watchers) this.#pump(watcher);
    return true;
  }

  /**
   * Registers a watcher: it gets the current snapshot now unless `lastVersion` equals it,
   * then every new version (coalesced). Returns the function that unregisters it.
   */
  watch(options: WatchOptions): () => void {
    const watcher: Watcher = {
      lastSent: options.lastVersion,
      busy: false,
      closed: false,
      acceptsDelta: options.acceptsDelta === true,
      send: options.send,
      onError: options.onError,
    };
    this.#watchers.add(watcher);
    this.#pump(watcher);
    return () => this.#close(watcher);
  }

  // Sends the newest snapshot if the watcher is idle and behind; re-runs when the send
  // settles, so whatever was published meanwhile collapses into one send of the newest.
  #pump(watcher: Watcher): void {
    const snapshot = this.#current;
    if (watcher.busy || watcher.closed || snapshot === undefined || snapshot.version === watcher.lastSent) return;
    watcher.busy = true;
    const message = (watcher.acceptsDelta && this.#history.deltaMessage(watcher.lastSent, snapshot)) || snapshot;
    watcher.lastSent = snapshot.version;
    let sending: Promise<void>;
    try {
      sending = watcher.send(message);
    } catch (error) {
      sending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    sending.then(
      () => {
        watcher.busy = false;
        this.#pump(watcher);
      },
      (error: unknown) => {
        if (watcher.closed) return;
        this.#close(watcher);
        watcher.onError?.(error);
      },
    );
  }

  #close(watcher: Watcher): void {
    watcher.closed = true;
    this.#watchers.delete(watcher);
  }
}
