import type { Db } from "../store/client.js";
import type { Prisma } from "../store/types.js";

/** Filters of the sessions list (all optional, combined with AND). */
export interface SessionFilter {
  issuer?: string;
  subject?: string;
  email?: string;
  graph?: string;
  operation?: string;
  decision?: "allow" | "deny";
  status?: number;
  proxyId?: string;
  threadId?: string;
  from?: Date;
  to?: Date;
  /** Only exchanges that sent at least this many bytes to the caller. */
  minBytesOut?: number;
}

/** One page of sessions, newest first, with an opaque cursor to the next page. */
export interface SessionPage<T> {
  items: T[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export const MAX_PAGE = 100;

/** The Prisma where clause of a filter. */
export function sessionWhere(f: SessionFilter): Prisma.SessionWhereInput {
  return {
    ...(f.issuer !== undefined ? { issuer: f.issuer } : {}),
    ...(f.subject !== undefined ? { subject: f.subject } : {}),
    ...(f.email !== undefined ? { email: f.email } : {}),
    ...(f.graph !== undefined ? { graph: f.graph } : {}),
    ...(f.operation !== undefined ? { operation: f.operation } : {}),
    ...(f.decision !== undefined ? { decision: f.decision } : {}),
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...(f.proxyId !== undefined ? { proxyId: f.proxyId } : {}),
    ...(f.threadId !== undefined ? { threadId: f.threadId } : {}),
    ...(f.from || f.to ? { startedAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
    ...(f.minBytesOut !== undefined ? { bytesOut: { gte: BigInt(f.minBytesOut) } } : {}),
  };
}

/**
 * Lists sessions with cursor pagination. Session ids are UUIDv7 made by the proxies, so
 * ordering by id is ordering by time, and a cursor is simply the last id seen:
 * `direction: "backward"` pages from newest to oldest, `"forward"` from oldest (tailing).
 */
export async function listSessions(
  db: Db,
  filter: SessionFilter,
  page: { first?: number; after?: string | null; direction?: "backward" | "forward" } = {},
) {
  const first = Math.min(Math.max(page.first ?? 20, 1), MAX_PAGE);
  const forward = page.direction === "forward";
  const where = sessionWhere(filter);
  if (page.after) where.id = forward ? { gt: page.after } : { lt: page.after };
  const rows = await db.session.findMany({ where, orderBy: { id: forward ? "asc" : "desc" }, take: first + 1 });
  const items = rows.slice(0, first);
  return { items, endCursor: items.length ? items[items.length - 1]!.id : page.after ?? null, hasNextPage: rows.length > first };
}

/** Per-identity totals over a time range: calls, denials, bytes out, cost. */
export async function identityAggregates(db: Db, filter: SessionFilter) {
  const where = sessionWhere(filter);
  const [totals, denials] = await Promise.all([
    db.session.groupBy({ by: ["issuer", "subject"], where, _count: { _all: true }, _sum: { bytesOut: true, cost: true } }),
    db.session.groupBy({ by: ["issuer", "subject"], where: { ...where, decision: "deny" }, _count: { _all: true } }),
  ]);
  const denied = new Map(denials.map((d) => [`${d.issuer}\u0000${d.subject}`, d._count._all]));
  return totals
    .map((t) => ({
      issuer: t.issuer,
      subject: t.subject,
      calls: t._count._all,
      denials: denied.get(`${t.issuer}\u0000${t.subject}`) ?? 0,
      bytesOut: t._sum.bytesOut ?? 0n,
      cost: t._sum.cost ?? 0,
    }))
    .sort((a, b) => b.calls - a.calls);
}

const BUCKETS = { hour: 3_600_000, day: 86_400_000 } as const;
const MAX_SCANNED = 200_000;

/** Calls per graph per time bucket (hour or day, UTC) over a range. */
export async function graphTimeline(db: Db, filter: SessionFilter, bucket: keyof typeof BUCKETS) {
  const rows = await db.session.findMany({ where: sessionWhere(filter), select: { graph: true, startedAt: true, decision: true }, take: MAX_SCANNED });
  const size = BUCKETS[bucket];
  const counts = new Map<string, { graph: string; bucketStart: Date; calls: number; denials: number }>();
  for (const r of rows) {
    const start = Math.floor(r.startedAt.getTime() / size) * size;
    const key = `${r.graph ?? ""}\u0000${start}`;
    const entry = counts.get(key) ?? { graph: r.graph ?? "", bucketStart: new Date(start), calls: 0, denials: 0 };
    entry.calls++;
    if (r.decision === "deny") entry.denials++;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => a.bucketStart.getTime() - b.bucketStart.getTime() || a.graph.localeCompare(b.graph));
}
