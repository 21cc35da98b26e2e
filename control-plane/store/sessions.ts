/**
 * Idempotent storage of session records (DESIGN.md §3: proxies deliver at least once
 * and resend what was not acked). Works on both databases: `createMany({
 * skipDuplicates })` does not exist on SQLite, so known ids are filtered first and a
 * race with a concurrent insert falls back to row-by-row inserts.
 */
import { isUniqueViolation } from "./prisma-runtime.js";
import type { Prisma, PrismaClient } from "./types.js";

/** A session row to store (`id` is the proxy-made UUIDv7). */
export type SessionInput = Prisma.SessionCreateManyInput;

/** Outcome of {@link storeSessions}, by session id. */
export interface StoreSessionsResult {
  /** Stored by this call. */
  inserted: string[];
  /** Already stored (a resend): safe to ack. */
  duplicates: string[];
  /**
   * Not stored: another record already holds its (proxyId, seq) under a different id,
   * i.e. the proxy's hash chain forked. Report these as rejected.
   */
  conflicts: string[];
}

/** Stores each record at most once, by id. */
export async function storeSessions(db: PrismaClient, records: readonly SessionInput[]): Promise<StoreSessionsResult> {
  const result: StoreSessionsResult = { inserted: [], duplicates: [], conflicts: [] };
  const unique = [...new Map(records.map((r) => [r.id, r])).values()];
  if (unique.length === 0) return result;
  const known = new Set(
    (await db.session.findMany({ where: { id: { in: unique.map((r) => r.id) } }, select: { id: true } })).map((r) => r.id),
  );
  const fresh = unique.filter((r) => !known.has(r.id));
  result.duplicates.push(...known);
  try {
    // One statement: all rows or none.
    await db.session.createMany({ data: fresh });
    result.inserted.push(...fresh.map((r) => r.id));
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    for (const record of fresh) await storeOne(db, record, result);
  }
  return result;
}

async function storeOne(db: PrismaClient, record: SessionInput, result: StoreSessionsResult): Promise<void> {
  try {
    await db.session.create({ data: record });
    result.inserted.push(record.id);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const sameId = await db.session.findUnique({ where: { id: record.id }, select: { id: true } });
    (sameId ? result.duplicates : result.conflicts).push(record.id);
  }
}
