/**
 * Chain anchors (issue #13): where each proxy's stored hash chain must start and end.
 *
 * The hash chain alone proves that stored records link up, not that none is missing at
 * either end: deleting the oldest or the newest rows (or rewriting the tail, hashes
 * included — sha256 needs no key) leaves a chain that still verifies. So the control plane
 * keeps, per proxy, a row signed with a key derived from its secret:
 *   head  — the newest seq and hash it acknowledged to the proxy (advanced on ingest);
 *   start — the first seq that must be stored and its prev_hash (seq 1 and the genesis
 *           hash, moved forward only by retention, BEFORE it deletes).
 * An insider with database access can delete or edit rows, but cannot sign a new anchor.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { EMPTY_CHAIN, type ChainState } from "../../common/recording/chain.js";
import type { Db } from "../store/client.js";
import { sessionPool } from "../store/sessions.js";

/** Signs and checks anchors; derived from the control plane's secret. */
export interface AnchorKey {
  sign(text: string): string;
}

/** The anchor key from the control plane's SecretBox (or anything that derives labelled keys). */
export function anchorKey(secrets: { derive(label: string): string }): AnchorKey {
  const key = secrets.derive("agentgate session chain anchor v1");
  return { sign: (text) => createHmac("sha256", key).update(text).digest("base64url") };
}

/** A proxy's anchors as stored. */
export interface ChainAnchors {
  readonly proxyId: string;
  /** Newest record acknowledged. */
  readonly head: ChainState;
  /** The record just before the first one that must be stored (seq 0 and genesis for a whole chain). */
  readonly start: ChainState;
}

const text = (a: ChainAnchors): string => `v1|${a.proxyId}|${a.head.seq}|${a.head.lastHash}|${a.start.seq}|${a.start.lastHash}`;

function signatureOk(key: AnchorKey, anchors: ChainAnchors, signature: string): boolean {
  const expected = Buffer.from(key.sign(text(anchors)));
  const got = Buffer.from(signature);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/** What verification reads: the anchors, or why they cannot be trusted. */
export type AnchorReading = { kind: "ok"; anchors: ChainAnchors } | { kind: "missing" } | { kind: "invalid" };

/** Reads and checks a proxy's anchors. */
export async function readAnchors(db: Db, key: AnchorKey, proxyId: string): Promise<AnchorReading> {
  return checkAnchors(key, proxyId, await db.chainAnchor.findUnique({ where: { proxyId } }));
}

type AnchorRow = { headSeq: bigint; headHash: string; startSeq: bigint; startPrevHash: string; signature: string };

/** A stored anchor row checked against its signature. */
function checkAnchors(key: AnchorKey, proxyId: string, row: AnchorRow | null): AnchorReading {
  if (!row) return { kind: "missing" };
  const anchors: ChainAnchors = {
    proxyId,
    head: { seq: row.headSeq, lastHash: row.headHash },
    start: { seq: row.startSeq - 1n, lastHash: row.startPrevHash },
  };
  return signatureOk(key, anchors, row.signature) ? { kind: "ok", anchors } : { kind: "invalid" };
}

/** Proxies that have anchors (a proxy whose every record was deleted still has one). */
export async function anchoredProxies(db: Db): Promise<string[]> {
  return (await db.chainAnchor.findMany({ select: { proxyId: true } })).map((r) => r.proxyId);
}

/**
 * Changes a proxy's anchors with `change` (read, change, compare-and-set: two control-plane
 * replicas may ingest for the same proxy). `initial` builds them when there are none. An
 * anchor whose signature is wrong is left alone: it stays evidence for verification.
 */
async function updateAnchors(
  db: Db,
  key: AnchorKey,
  proxyId: string,
  initial: () => Promise<ChainAnchors | undefined>,
  change: (current: ChainAnchors) => ChainAnchors | undefined,
): Promise<void> {
  const cache = lastRows.get(db) ?? new Map<string, AnchorRow>();
  lastRows.set(db, cache);
  for (let attempt = 0; attempt < 5; attempt++) {
    // The row this process last read or wrote, if any: the compare-and-set below checks that
    // it is still the stored one, so a batch's head advance is one query instead of two.
    const cached = attempt === 0 ? cache.get(proxyId) : undefined;
    cache.delete(proxyId);
    const row = cached ?? (await readRow(db, proxyId));
    if (row === null) {
      const fresh = await initial();
      if (fresh === undefined) return;
      if (await createRow(db, toRow(key, fresh))) return;
      continue; // created meanwhile by another replica: change that one
    }
    const reading = checkAnchors(key, proxyId, row);
    if (reading.kind !== "ok") return;
    const next = change(reading.anchors);
    if (next === undefined) {
      if (cached) continue; // nothing to change by our copy: make sure by the stored row
      cache.set(proxyId, row);
      return;
    }
    const written = toRow(key, next);
    if (await replaceRow(db, row.signature, written)) {
      cache.set(proxyId, written);
      return;
    }
  }
  throw new Error(`chain anchor of ${proxyId} kept changing under us`);
}

/** Per client, each proxy's anchor row as this process last read or wrote it. */
const lastRows = new WeakMap<Db, Map<string, AnchorRow>>();

/*
 * The anchor row is read and replaced once per ingested batch: on PostgreSQL through the
 * session pool (store/sessions.ts) in plain SQL, because Prisma's query compiler spent
 * ~20% of the control plane's ingest CPU on these two small queries (profile, see
 * bench/README.md); elsewhere through Prisma.
 */
async function readRow(db: Db, proxyId: string): Promise<AnchorRow | null> {
  const pool = sessionPool(db);
  if (!pool) return db.chainAnchor.findUnique({ where: { proxyId } });
  const { rows } = await pool.query<{ headSeq: string; headHash: string; startSeq: string; startPrevHash: string; signature: string }>(
    `SELECT "headSeq"::text AS "headSeq", "headHash", "startSeq"::text AS "startSeq", "startPrevHash", "signature" FROM "ChainAnchor" WHERE "proxyId" = $1`,
    [proxyId],
  );
  const r = rows[0];
  return r ? { headSeq: BigInt(r.headSeq), headHash: r.headHash, startSeq: BigInt(r.startSeq), startPrevHash: r.startPrevHash, signature: r.signature } : null;
}

/** Creates the row unless one exists (another replica, or a concurrent batch); true when it did. */
async function createRow(db: Db, row: ReturnType<typeof toRow>): Promise<boolean> {
  const pool = sessionPool(db);
  if (!pool) return (await db.chainAnchor.createMany({ data: [row] }).catch(() => ({ count: 0 }))).count === 1;
  // ON CONFLICT: a batch and its stream's head report race to create it; no error to build.
  const { rowCount } = await pool.query(
    `INSERT INTO "ChainAnchor" ("proxyId", "headSeq", "headHash", "startSeq", "startPrevHash", "signature", "updatedAt") ` +
      `VALUES ($1, $2::bigint, $3, $4::bigint, $5, $6, (now() AT TIME ZONE 'UTC')) ON CONFLICT DO NOTHING`,
    [row.proxyId, String(row.headSeq), row.headHash, String(row.startSeq), row.startPrevHash, row.signature],
  );
  return rowCount === 1;
}

/** Replaces the row if its signature is still `signature` (compare-and-set); true when it did. */
async function replaceRow(db: Db, signature: string, row: ReturnType<typeof toRow>): Promise<boolean> {
  const pool = sessionPool(db);
  if (!pool) return (await db.chainAnchor.updateMany({ where: { proxyId: row.proxyId, signature }, data: row })).count === 1;
  const { rowCount } = await pool.query(
    `UPDATE "ChainAnchor" SET "headSeq" = $3::bigint, "headHash" = $4, "startSeq" = $5::bigint, "startPrevHash" = $6, "signature" = $7, "updatedAt" = (now() AT TIME ZONE 'UTC') ` +
      `WHERE "proxyId" = $1 AND "signature" = $2`,
    [row.proxyId, signature, String(row.headSeq), row.headHash, String(row.startSeq), row.startPrevHash, row.signature],
  );
  return rowCount === 1;
}

function toRow(key: AnchorKey, a: ChainAnchors) {
  return { proxyId: a.proxyId, headSeq: a.head.seq, headHash: a.head.lastHash, startSeq: a.start.seq + 1n, startPrevHash: a.start.lastHash, signature: key.sign(text(a)) };
}

/**
 * Moves the head forward to `head` (the newest record of a stored batch). The first time a
 * proxy is seen, its chain starts at the beginning (seq 1, after the genesis hash): a proxy's
 * chain always does, and only retention (recordTruncation) moves the start. Not "its oldest
 * stored record": batches may arrive newest first (a catch-up after an outage), and a start
 * taken from the first batch stored would leave every older record unverified — its
 * deletion or edit undetected.
 */
export async function advanceHead(db: Db, key: AnchorKey, proxyId: string, head: ChainState): Promise<void> {
  await updateAnchors(
    db,
    key,
    proxyId,
    () => Promise.resolve({ proxyId, head, start: EMPTY_CHAIN }),
    (current) => (head.seq > current.head.seq ? { ...current, head } : undefined),
  );
}

/**
 * Records where retention cuts a proxy's chain: `lastDeleted` is the newest record about to
 * be deleted. Written before the deletion, so a crash in between leaves extra old rows
 * (ignored by verification), never an unexplained hole.
 */
export async function recordTruncation(db: Db, key: AnchorKey, proxyId: string, lastDeleted: ChainState): Promise<void> {
  await updateAnchors(
    db,
    key,
    proxyId,
    async () => ({ proxyId, head: lastDeleted, start: lastDeleted }),
    (current) => (lastDeleted.seq > current.start.seq ? { ...current, start: lastDeleted, head: current.head.seq >= lastDeleted.seq ? current.head : lastDeleted } : undefined),
  );
}
