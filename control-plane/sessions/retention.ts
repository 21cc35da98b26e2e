import type { Db } from "../store/client.js";
import { recordTruncation, type AnchorKey } from "./anchors.js";

/**
 * Deletes sessions older than `cutoff`, per proxy as a PREFIX of its hash chain: every
 * record before the first one that started at or after the cutoff. Deleting a prefix
 * (never a hole) keeps the rest verifiable: a signed truncation point (anchors.ts) records
 * where the kept chain starts, so retention is told apart from someone deleting the oldest
 * records. Returns the number of records deleted.
 */
export async function deleteSessionsBefore(db: Db, cutoff: Date, anchors: AnchorKey): Promise<number> {
  const proxies = await db.session.findMany({ where: { startedAt: { lt: cutoff } }, distinct: ["proxyId"], select: { proxyId: true } });
  let deleted = 0;
  for (const { proxyId } of proxies) {
    const firstKept = await db.session.findFirst({ where: { proxyId, startedAt: { gte: cutoff } }, orderBy: { seq: "asc" }, select: { seq: true } });
    const lastDeleted = await db.session.findFirst({ where: { proxyId, ...(firstKept ? { seq: { lt: firstKept.seq } } : {}) }, orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
    if (!lastDeleted) continue;
    // The signed start moves first: verification then expects the chain from the first kept record.
    await recordTruncation(db, anchors, proxyId, { seq: lastDeleted.seq, lastHash: lastDeleted.hash });
    const result = await db.session.deleteMany({ where: { proxyId, ...(firstKept ? { seq: { lt: firstKept.seq } } : {}) } });
    deleted += result.count;
  }
  return deleted;
}
