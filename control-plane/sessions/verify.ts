import { verifyChain, type ChainProblem } from "../../data-plane/recording/chain.js";
import type { Db } from "../store/client.js";
import { recordFromRow } from "./record-mapping.js";

/** Verification of one proxy's stored chain. */
export interface ChainReport {
  proxyId: string;
  records: number;
  ok: boolean;
  problems: ChainProblem[];
}

const PAGE = 2_000;

/**
 * Recomputes every stored record's hash and checks each link to its predecessor, per
 * proxy, in seq order (DESIGN.md §2 tamper evidence). A row edited in the database, a
 * deleted row (gap) or a reordered chain shows up as a problem with its seq and id.
 * Records deleted by retention leave an anchor (the first kept record's prev_hash is
 * trusted) so retention does not break verification.
 */
export async function verifyStoredChains(db: Db, proxyId?: string): Promise<ChainReport[]> {
  const proxies = proxyId
    ? [proxyId]
    : (await db.session.findMany({ distinct: ["proxyId"], select: { proxyId: true }, orderBy: { proxyId: "asc" } })).map((p) => p.proxyId);
  const reports: ChainReport[] = [];
  for (const id of proxies) {
    const problems: ChainProblem[] = [];
    let count = 0;
    let cursor: bigint | undefined;
    let previous = undefined as ReturnType<typeof recordFromRow> | undefined;
    for (;;) {
      const rows = await db.session.findMany({
        where: { proxyId: id, ...(cursor !== undefined ? { seq: { gt: cursor } } : {}) },
        orderBy: { seq: "asc" },
        take: PAGE,
      });
      if (rows.length === 0) break;
      const records = rows.map(recordFromRow);
      // Each page is verified with the last record of the previous page as its anchor.
      const verdict = verifyChain(previous ? [previous, ...records] : records, previous ? {} : { anchor: records[0]!.seq > 1n ? { seq: records[0]!.seq - 1n, lastHash: records[0]!.prevHash } : undefined });
      if (!verdict.ok) problems.push(...verdict.problems.filter((p) => !previous || p.id !== previous.id));
      count += rows.length;
      previous = records[records.length - 1];
      cursor = rows[rows.length - 1]!.seq;
    }
    reports.push({ proxyId: id, records: count, ok: problems.length === 0, problems });
  }
  return reports;
}
