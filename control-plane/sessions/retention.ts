import type { Db } from "../store/client.js";

/**
 * Deletes sessions older than `cutoff`, per proxy as a PREFIX of its hash chain: every
 * record before the first one that started at or after the cutoff. Deleting a prefix
 * (never a hole) keeps the rest verifiable: the first kept record's prev_hash becomes the
 * trusted anchor. Returns the number of records deleted.
 */
export async function deleteSessionsBefore(db: Db, cutoff: Date): Promise<number> {
  const proxies = await db.session.findMany({ where: { startedAt: { lt: cutoff } }, distinct: ["proxyId"], select: { proxyId: true } });
  let deleted = 0;
  for (const { proxyId } of proxies) {
    const firstKept = await db.session.findFirst({ where: { proxyId, startedAt: { gte: cutoff } }, orderBy: { seq: "asc" }, select: { seq: true } });
    const result = await db.session.deleteMany({ where: { proxyId, ...(firstKept ? { seq: { lt: firstKept.seq } } : {}) } });
    deleted += result.count;
  }
  return deleted;
}
