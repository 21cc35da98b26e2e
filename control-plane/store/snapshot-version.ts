/**
 * The snapshot version: one row (id 1, inserted by the first migration) whose version
 * every policy-affecting write bumps inside its own transaction, so the version and
 * the data it describes always commit together. Concurrent bumps serialize on the row
 * (PostgreSQL row lock, SQLite's single writer), so versions never repeat.
 */
import type { PrismaClient, TransactionClient } from "./types.js";

/** Primary key of the single SnapshotVersion row. */
export const SNAPSHOT_VERSION_ID = 1;

/** Increments the version; call it with the transaction client of the write. Returns the new version. */
export async function bumpSnapshotVersion(tx: TransactionClient | PrismaClient): Promise<bigint> {
  const row = await tx.snapshotVersion.update({ where: { id: SNAPSHOT_VERSION_ID }, data: { version: { increment: 1 } } });
  return row.version;
}

/** The current version (0 before any policy write). */
export async function currentSnapshotVersion(db: TransactionClient | PrismaClient): Promise<bigint> {
  const row = await db.snapshotVersion.findUnique({ where: { id: SNAPSHOT_VERSION_ID } });
  return row?.version ?? 0n;
}

/**
 * Raises the shared gateway-key generation to at least `generation` (never lowers it) and
 * bumps the version when it did: a replica started with AGENTGATE_GATEWAY_KEY_GENERATION=N
 * moves every replica to N, because each reads the generation with its next snapshot.
 * One conditional statement, so replicas starting together raise it once. True when raised.
 */
export async function raiseKeyGeneration(db: PrismaClient, generation: number): Promise<boolean> {
  const { count } = await db.snapshotVersion.updateMany({
    where: { id: SNAPSHOT_VERSION_ID, keyGeneration: { lt: generation } },
    data: { keyGeneration: generation, version: { increment: 1 } },
  });
  return count > 0;
}

/**
 * Bumps the version when the key material snapshots carry changed since the last start
 * (a new secret key; generations are tracked by {@link raiseKeyGeneration}), so proxies get the new keys
 * without an unrelated policy change. One conditional statement: concurrent starts with the
 * same keys bump once. Returns true when it bumped.
 */
export async function bumpOnKeysChange(db: PrismaClient, fingerprint: string): Promise<boolean> {
  const { count } = await db.snapshotVersion.updateMany({
    where: { id: SNAPSHOT_VERSION_ID, NOT: { keysFingerprint: fingerprint } },
    data: { keysFingerprint: fingerprint, version: { increment: 1 } },
  });
  return count > 0;
}
