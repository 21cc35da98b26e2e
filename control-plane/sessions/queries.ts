import type { Db } from "../store/client.js";
import type { Prisma } from "../store/types.js";
import { pageArgs, toPage, type PageOrder, type PageRequest } from "../admin/page.js";

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

/** The Prisma where clause of a filter. */
export function sessionWhere(f: SessionFilter): Prisma.SessionWhereInput {
  return {
    ...(f.issuer != null ? { issuer: f.issuer } : {}),
    ...(f.subject != null ? { subject: f.subject } : {}),
    ...(f.email != null ? { email: f.email } : {}),
    ...(f.graph != null ? { graph: f.graph } : {}),
    ...(f.operation != null ? { operation: f.operation } : {}),
    ...(f.decision != null ? { decision: f.decision } : {}),
    ...(f.status != null ? { status: f.status } : {}),
    ...(f.proxyId != null ? { proxyId: f.proxyId } : {}),
    ...(f.threadId != null ? { threadId: f.threadId } : {}),
    ...(f.from || f.to ? { startedAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
    ...(f.minBytesOut != null ? { bytesOut: { gte: BigInt(f.minBytesOut) } } : {}),
  };
}

/**
 * Lists sessions with keyset pagination over their UUIDv7 ids (made by the proxies, so
 * id order is time order): "desc" pages from newest to oldest, "asc" from oldest (tailing).
 */
export async function listSessions(db: Db, filter: SessionFilter, req: PageRequest, order: PageOrder = "desc") {
  const { idAfter, orderBy, take } = pageArgs(req, order);
  const rows = await db.session.findMany({ where: { ...sessionWhere(filter), ...idAfter }, orderBy, take });
  return toPage(rows, req, (row) => row);
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
