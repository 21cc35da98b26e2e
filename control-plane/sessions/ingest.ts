import type { ChainHead, SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { encodeChainFields, hashContent, recordHashMatches } from "../../common/recording/chain.js";
import type { Db, StoreProvider } from "../store/client.js";
import { rowFromRecord, rowFromScanned, scanSealed, type ScannedRecord } from "./record-mapping.js";
import { SessionValueError, sessionPool, storeScannedSessions, storeSessions, type StoreSessionsResult } from "../store/sessions.js";
import { PrismaClientKnownRequestError } from "@prisma/client/runtime/client";
import { advanceHead, type AnchorKey } from "./anchors.js";

// Errors about the data itself, not the database being unavailable or busy: Prisma request
// errors (P2xxx, but timeouts and transaction conflicts), and driver errors (through Prisma
// or node-postgres) of SQLSTATE class 22 (data exception, e.g. U+0000 in text) or 23 (integrity constraint).
const TRANSIENT = new Set(["P2024", "P2028", "P2034"]);
function isDataError(err: unknown): boolean {
  if (err instanceof SessionValueError) return true;
  if (err instanceof PrismaClientKnownRequestError) return err.code.startsWith("P2") && !TRANSIENT.has(err.code);
  // node-postgres' DatabaseError (session batches bypass Prisma on PostgreSQL: store/sessions.ts).
  const pgError = err as { severity?: unknown; code?: unknown } | undefined;
  if (typeof pgError?.severity === "string" && typeof pgError.code === "string") return /^2[23]/.test(pgError.code);
  const cause = (err as { name?: string; cause?: { kind?: string; code?: unknown } } | undefined)?.cause;
  return (err as { name?: string })?.name === "DriverAdapterError" && cause?.kind === "postgres" && /^2[23]/.test(String(cause.code));
}

/** What happened to a reported batch. */
export interface IngestResult {
  /** Durably stored, now or by an earlier delivery (a resend is not a duplicate). */
  stored: string[];
  /** Refused for good: a hash that does not match the content, or a fork of the chain. */
  rejected: Array<{ id: string; reason: string }>;
}

/**
 * A reported record: sealed bytes as the proxy spooled them (SessionBatch.sealed_records),
 * or a decoded message (SessionBatch.records, from proxies before chain v2).
 */
export type ReportedRecord = Uint8Array | SessionRecord;

/** What ingest needs of a record: its identity and chain position; `store` keeps the rest. */
interface Candidate {
  readonly id: string;
  readonly proxyId: string;
  readonly seq: bigint;
  readonly hash: string;
}

/**
 * Sealed bytes checked as received (what `openSealed` checks, without building a
 * SessionRecord): they must end with the chain fields of the record they scan to, and the
 * hash must be that of the bytes before them.
 */
export function openScanned(bytes: Uint8Array): { ok: true; record: ScannedRecord } | { ok: false; id: string; reason: string } {
  let record: ScannedRecord;
  try {
    record = scanSealed(bytes);
  } catch (err) {
    return { ok: false, id: "", reason: `not a session record: ${(err as Error).message}` };
  }
  const tail = encodeChainFields(record.seq, record.prevHash, record.hash);
  const contentLength = bytes.length - tail.length;
  if (contentLength < 0 || !Buffer.from(bytes.buffer, bytes.byteOffset + contentLength, tail.length).equals(tail)) {
    return { ok: false, id: record.id, reason: "the record does not end with its chain fields" };
  }
  if (hashContent(record.seq, record.prevHash, bytes.subarray(0, contentLength)) !== record.hash) {
    return { ok: false, id: record.id, reason: "hash does not match the record's content" };
  }
  return { ok: true, record };
}

/** The record if its hash holds: over the bytes received for sealed bytes, recomputed for a message. */
function checked(item: ReportedRecord, proxyId: string, result: IngestResult): ScannedRecord | SessionRecord | undefined {
  let record: ScannedRecord | SessionRecord;
  if (item instanceof Uint8Array) {
    const opened = openScanned(item);
    if (!opened.ok) {
      result.rejected.push({ id: opened.id, reason: opened.reason });
      return undefined;
    }
    record = opened.record;
  } else {
    record = item;
    if (!recordHashMatches(record)) {
      result.rejected.push({ id: record.id, reason: "hash does not match the record's content" });
      return undefined;
    }
  }
  if (record.proxyId !== proxyId) {
    result.rejected.push({ id: record.id, reason: "record proxy_id differs from the batch's" });
    return undefined;
  }
  return record;
}

const isScanned = (r: ScannedRecord | SessionRecord): r is ScannedRecord => !("$typeName" in r);

/**
 * How a batch is stored: on PostgreSQL, scanned records as binary arrays through the
 * session pool (store/sessions.ts `storeScannedSessions`); otherwise as rows.
 */
function storer(db: Db, provider: StoreProvider, candidates: ReadonlyArray<ScannedRecord | SessionRecord>) {
  const pool = provider === "postgresql" ? sessionPool(db) : undefined;
  if (pool && candidates.every(isScanned)) return (rs: ReadonlyArray<ScannedRecord | SessionRecord>) => storeScannedSessions(pool, rs as ScannedRecord[]);
  return (rs: ReadonlyArray<ScannedRecord | SessionRecord>) => storeSessions(db, rs.map((r) => (isScanned(r) ? rowFromScanned(r) : rowFromRecord(r))), provider);
}

/**
 * Stores a batch of session records idempotently by id (a resend is acked, not stored
 * twice). Each record's hash is checked against its content and its prev_hash — for sealed
 * bytes, over the very bytes received — so a record altered in transit or forged is
 * rejected; a record whose (proxy, seq) is already taken by a different id is a fork and rejected.
 * Link gaps are not refused here (records may legitimately arrive after a restart); the
 * on-demand chain verification reports them.
 */
export async function ingestSessions(
  db: Db,
  proxyId: string,
  records: readonly ReportedRecord[],
  provider: StoreProvider,
  anchors?: AnchorKey,
  ackedHead?: ChainHead,
): Promise<IngestResult> {
  const result: IngestResult = { stored: [], rejected: [] };
  // The proxy's word for what was acknowledged (it is authenticated): a signed head that fell
  // behind it (e.g. an anchor row restored from an old copy) moves forward again.
  if (anchors && ackedHead && ackedHead.seq > 0n) await advanceHead(db, anchors, proxyId, { seq: ackedHead.seq, lastHash: ackedHead.hash });
  const candidates: Array<ScannedRecord | SessionRecord> = [];
  for (const item of records) {
    const r = checked(item, proxyId, result);
    if (r) candidates.push(r);
  }
  if (candidates.length === 0) return result;

  const store = storer(db, provider, candidates);
  let stored: StoreSessionsResult;
  try {
    stored = await store(candidates);
  } catch (err) {
    if (!isDataError(err)) throw err; // storage unavailable: nothing acked, the proxy resends
    // One record the database refuses must not block every record behind it: store one by
    // one and reject, for good, only those refused for their content.
    stored = { inserted: [], duplicates: [], conflicts: [] };
    for (const r of candidates) {
      try {
        const one = await store([r]);
        stored.inserted.push(...one.inserted);
        stored.duplicates.push(...one.duplicates);
        stored.conflicts.push(...one.conflicts);
      } catch (e) {
        if (!isDataError(e)) throw e;
        result.rejected.push({ id: r.id, reason: "the database refused the record's content" });
      }
    }
  }
  result.stored.push(...stored.inserted, ...stored.duplicates);
  // The newest record acknowledged becomes the signed head of the chain (before the ack:
  // if this fails, nothing is acked and the batch comes again).
  if (anchors && result.stored.length > 0) {
    const stored = new Set(result.stored);
    let newest: Candidate | undefined;
    for (const r of candidates) if (stored.has(r.id) && (newest === undefined || r.seq > newest.seq)) newest = r;
    await advanceHead(db, anchors, proxyId, { seq: newest!.seq, lastHash: newest!.hash });
  }
  for (const id of stored.conflicts) result.rejected.push({ id, reason: "its chain position is taken by another record (forked chain)" });
  return result;
}
