import type { Db } from "../store/client.js";
import type { ProxyStatus, ProxyStatusRegistry } from "./status.js";
import { log } from "../../common/observability/log.js";

/** A stream not confirmed by its replica's heartbeat for this long counts as gone. */
export const STALE_AFTER_MS = 60_000;
const HEARTBEAT_MS = 15_000;

/**
 * Mirrors this replica's proxy registry into the ProxyStatus table, so every control-plane
 * replica on one database lists every proxy, whichever replica holds its Watch stream (or
 * received its ack). The replica holding a stream owns `connected`; a heartbeat refreshes
 * `lastSeenAt` of its streams so a crashed replica's proxies turn stale instead of staying
 * "connected". Writes are serialized; failures are logged (the in-memory view still works).
 *
 * With `coalesceMs`, changes are written that long after the first one, each proxy's newest
 * state once: a policy change makes every proxy of the fleet ack within a few ms, and 30
 * database upserts right then compete for the CPU with the proxies still applying it
 * (issue 18). This replica's own view is live regardless (the registry); other replicas
 * see the change `coalesceMs` later.
 */
export function persistProxyStatus(db: Db, registry: ProxyStatusRegistry, replica: string, opts: { coalesceMs?: number } = {}): { stop(): void } {
  let queue = Promise.resolve();
  const write = (s: ProxyStatus) => {
    queue = queue
      .then(async () => {
        const facts = {
          address: s.address,
          ackedVersion: s.ackedVersion,
          lastError: s.lastError,
          rejectedVersion: s.rejectedVersion,
          lastSeenAt: s.lastSeen,
        };
        if (s.connected) {
          await db.proxyStatus.upsert({
            where: { proxyId: s.proxyId },
            create: { proxyId: s.proxyId, ...facts, connected: true, replica, connectedAt: s.lastSeen },
            update: { ...facts, connected: true, replica },
          });
          return;
        }
        // An ack or a disconnect: record the facts; only the replica that held the stream
        // may say it is gone (an ack can reach a replica that does not hold the stream).
        const existing = await db.proxyStatus.findUnique({ where: { proxyId: s.proxyId }, select: { ackedVersion: true } });
        const acked = existing?.ackedVersion != null && s.ackedVersion != null && existing.ackedVersion > s.ackedVersion ? existing.ackedVersion : s.ackedVersion;
        await db.proxyStatus.upsert({
          where: { proxyId: s.proxyId },
          create: { proxyId: s.proxyId, ...facts, connected: false },
          // A replica that only saw an ack does not know the address: keep the stored one.
          update: { ...facts, ackedVersion: acked, ...(s.address ? {} : { address: undefined }) },
        });
        await db.proxyStatus.updateMany({ where: { proxyId: s.proxyId, replica }, data: { connected: false } });
      })
      .catch((err) => log.warn("proxy status not persisted", { proxyId: s.proxyId, err }));
  };
  const pending = new Map<string, ProxyStatus>();
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = () => {
    flushTimer = undefined;
    for (const s of pending.values()) write(s);
    pending.clear();
  };
  const unsubscribe = registry.onChange((s) => {
    if (!opts.coalesceMs) return write(s);
    pending.set(s.proxyId, s);
    flushTimer ??= setTimeout(flush, opts.coalesceMs);
  });
  const heartbeat = setInterval(() => {
    const mine = registry.list().filter((p) => p.connected).map((p) => p.proxyId);
    if (mine.length === 0) return;
    queue = queue
      .then(() => db.proxyStatus.updateMany({ where: { proxyId: { in: mine }, replica }, data: { lastSeenAt: new Date() } }))
      .then(() => undefined)
      .catch((err) => log.warn("proxy heartbeat not persisted", { err }));
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    stop() {
      clearInterval(heartbeat);
      unsubscribe();
      clearTimeout(flushTimer);
      flush();
    },
  };
}

/**
 * Every proxy known to any replica: this replica's live registry first (freshest), then
 * the table for the others, with `connected` true only while the holding replica's
 * heartbeat is recent. Sorted by proxy id.
 */
export async function listProxyStatuses(db: Db, registry: ProxyStatusRegistry, now = Date.now()): Promise<ProxyStatus[]> {
  const local = new Map(registry.list().map((p) => [p.proxyId, p]));
  const rows = await db.proxyStatus.findMany({ orderBy: { proxyId: "asc" } });
  for (const r of rows) {
    const mine = local.get(r.proxyId);
    if (mine?.connected) continue;
    const fromTable: ProxyStatus = {
      proxyId: r.proxyId,
      address: r.address ?? "",
      ackedVersion: mine?.ackedVersion != null && r.ackedVersion != null && mine.ackedVersion > r.ackedVersion ? mine.ackedVersion : r.ackedVersion,
      lastError: r.lastError,
      rejectedVersion: r.rejectedVersion,
      lastSeen: r.lastSeenAt,
      connected: r.connected && now - r.lastSeenAt.getTime() < STALE_AFTER_MS,
    };
    local.set(r.proxyId, fromTable);
  }
  return [...local.values()].sort((a, b) => (a.proxyId < b.proxyId ? -1 : a.proxyId > b.proxyId ? 1 : 0));
}
