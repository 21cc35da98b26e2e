import { verifyChain, type ChainProblem, type VerifyOptions } from "../../common/recording/chain.js";
import type { Db } from "../store/client.js";
import { recordFromRow } from "./record-mapping.js";
import { anchoredProxies, readAnchors, type AnchorKey, type ChainAnchors } from "./anchors.js";

/**
 * One thing wrong with a stored chain. Besides the link problems of `verifyChain` (gap,
 * altered, broken-link — edits, deletions in the middle and reorders):
 *   missing-first   records at the start of the chain are gone (seq is where it should start);
 *   missing-last    the newest records acknowledged to the proxy are gone (seq is the signed head);
 *   head-mismatch   the record at the signed head is not the one acknowledged (a rewritten tail);
 *   anchor-missing  the proxy has records but no signed anchors (deleted);
 *   anchor-invalid  the anchors' signature does not match (edited).
 */
export interface StoredChainProblem {
  readonly seq: bigint;
  readonly id: string;
  readonly kind: ChainProblem["kind"] | "missing-first" | "missing-last" | "head-mismatch" | "anchor-missing" | "anchor-invalid";
}

/** Verification of one proxy's stored chain. */
export interface ChainReport {
  proxyId: string;
  records: number;
  ok: boolean;
  problems: StoredChainProblem[];
}

const PAGE = 2_000;

/**
 * Verifies each proxy's stored chain between its signed anchors (anchors.ts): every
 * record's hash is recomputed and each link checked, in seq order, from the signed start
 * (seq 1, or where retention cut) to the signed head (the newest record acknowledged).
 * An edited row, a deleted one anywhere — first, middle or newest —, a reordered or
 * rewritten chain, and a deleted or edited anchor are each reported by name.
 */
export async function verifyStoredChains(db: Db, key: AnchorKey, proxyId?: string): Promise<ChainReport[]> {
  const proxies = proxyId
    ? [proxyId]
    : [...new Set([...(await db.session.findMany({ distinct: ["proxyId"], select: { proxyId: true } })).map((p) => p.proxyId), ...(await anchoredProxies(db))])].sort();
  const reports: ChainReport[] = [];
  for (const id of proxies) reports.push(await verifyProxy(db, key, id));
  return reports;
}

async function verifyProxy(db: Db, key: AnchorKey, proxyId: string): Promise<ChainReport> {
  const problems: StoredChainProblem[] = [];
  const reading = await readAnchors(db, key, proxyId);
  const anchors: ChainAnchors | undefined = reading.kind === "ok" ? reading.anchors : undefined;
  if (reading.kind === "invalid") problems.push({ seq: 0n, id: "", kind: "anchor-invalid" });
  // Rows before the signed start are retention's leftovers (a crash between moving the start and deleting).
  let cursor: bigint | undefined = anchors?.start.seq;
  let count = 0;
  let previous = undefined as ReturnType<typeof recordFromRow> | undefined;
  for (;;) {
    const rows = await db.session.findMany({
      where: { proxyId, ...(cursor !== undefined ? { seq: { gt: cursor } } : {}) },
      orderBy: { seq: "asc" },
      take: PAGE,
    });
    if (rows.length === 0) break;
    const records = rows.map(recordFromRow);
    if (previous === undefined) {
      const first = records[0]!;
      if (reading.kind === "missing") problems.push({ seq: first.seq, id: first.id, kind: "anchor-missing" });
      if (anchors && first.seq > anchors.start.seq + 1n) problems.push({ seq: anchors.start.seq + 1n, id: first.id, kind: "missing-first" });
    }
    // Each page is verified with the last record of the previous page (or the signed start) as its anchor.
    let options: VerifyOptions = {};
    if (previous === undefined && anchors && records[0]!.seq === anchors.start.seq + 1n) options = { anchor: anchors.start };
    else if (previous === undefined && !anchors && records[0]!.seq > 1n) options = { anchor: { seq: records[0]!.seq - 1n, lastHash: records[0]!.prevHash } };
    const verdict = verifyChain(previous ? [previous, ...records] : records, options);
    if (!verdict.ok) problems.push(...verdict.problems.filter((p) => !previous || p.id !== previous.id));
    if (anchors) {
      const atHead = records.find((r) => r.seq === anchors.head.seq);
      if (atHead && atHead.hash !== anchors.head.lastHash) problems.push({ seq: atHead.seq, id: atHead.id, kind: "head-mismatch" });
    }
    count += rows.length;
    previous = records[records.length - 1];
    cursor = rows[rows.length - 1]!.seq;
  }
  if (anchors) {
    const newest = previous?.seq ?? anchors.start.seq;
    if (newest < anchors.head.seq) problems.push({ seq: anchors.head.seq, id: "", kind: "missing-last" });
    if (previous === undefined && anchors.head.seq > anchors.start.seq) problems.push({ seq: anchors.start.seq + 1n, id: "", kind: "missing-first" });
  }
  return { proxyId, records: count, ok: problems.length === 0, problems };
}
