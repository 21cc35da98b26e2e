import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { Db } from "../store/client.js";
import type { SnapshotPublisher } from "./publisher.js";
import type { BuiltSnapshot } from "./incremental.js";
import { ChangeHints, type LocalChange } from "./change-hints.js";

/** Options of {@link startSnapshotRefresher}. */
export interface RefresherOptions {
  db: Db;
  publisher: SnapshotPublisher;
  /** A full snapshot, or one with its delta from the previous build (createSnapshotBuilder). */
  build: (hints: ChangeHints) => Promise<Snapshot | BuiltSnapshot>;
  /** How often the version row is read, so writes made through another replica reach this one. */
  pollMs?: number;
  onError?: (err: unknown) => void;
}

/** A running refresher. */
export interface SnapshotRefresher {
  /**
   * Publishes a new snapshot if the stored version moved; resolves when done. A writer of
   * this process passes the change it committed: its version is known to be new (no read of
   * the version row first: one round trip less per change) and its models let the build
   * skip unchanged collections (change-hints.ts).
   */
  refresh(change?: LocalChange): Promise<void>;
  stop(): void;
}

/**
 * Keeps the publisher in step with the database. Every policy-affecting write bumps the
 * SnapshotVersion row in its own transaction; this reads that row (after local writes,
 * and every `pollMs` for writes made by other control-plane replicas on the same
 * PostgreSQL) and, when it moved, compiles and publishes the new snapshot. Refreshes never
 * overlap: calls during a build are folded into one more build.
 */
export function startSnapshotRefresher(opts: RefresherOptions): SnapshotRefresher {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const hints = new ChangeHints();
  // The newest version a local commit reported: committed, so stored >= it.
  let committed = 0n;

  const once = async (): Promise<void> => {
    const current = opts.publisher.current()?.version;
    if (current === undefined || committed <= current) {
      const row = await opts.db.snapshotVersion.findUnique({ where: { id: 1 } });
      const stored = row?.version ?? 0n;
      if (current !== undefined && stored <= current) return;
    }
    const built = await opts.build(hints);
    if ("snapshot" in built) opts.publisher.publish(built.snapshot, built.delta);
    else opts.publisher.publish(built);
  };

  const refresh = (change?: LocalChange): Promise<void> => {
    if (change !== undefined) {
      hints.record(change);
      if (change.version > committed) committed = change.version;
    }
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await once();
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped) refresh().catch((err) => opts.onError?.(err));
  }, opts.pollMs ?? 500);
  timer.unref();
  return {
    refresh,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
