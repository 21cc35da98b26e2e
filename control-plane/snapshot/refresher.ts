import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { Db } from "../store/client.js";
import type { SnapshotPublisher } from "./publisher.js";
import type { BuiltSnapshot } from "./incremental.js";

/** Options of {@link startSnapshotRefresher}. */
export interface RefresherOptions {
  db: Db;
  publisher: SnapshotPublisher;
  /** A full snapshot, or one with its delta from the previous build (createSnapshotBuilder). */
  build: () => Promise<Snapshot | BuiltSnapshot>;
  /** How often the version row is read, so writes made through another replica reach this one. */
  pollMs?: number;
  onError?: (err: unknown) => void;
}

/** A running refresher. */
export interface SnapshotRefresher {
  /** Publishes a new snapshot if the stored version moved; resolves when done. */
  refresh(): Promise<void>;
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

  const once = async (): Promise<void> => {
    const row = await opts.db.snapshotVersion.findUnique({ where: { id: 1 } });
    const stored = row?.version ?? 0n;
    const current = opts.publisher.current()?.version;
    if (current !== undefined && stored <= current) return;
    const built = await opts.build();
    if ("snapshot" in built) opts.publisher.publish(built.snapshot, built.delta);
    else opts.publisher.publish(built);
  };

  const refresh = (): Promise<void> => {
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
