/**
 * Idempotent storage of session records (DESIGN.md §3: proxies deliver at least once
 * and resend what was not acked). Works on both databases: `createMany({
 * skipDuplicates })` does not exist on SQLite, so known ids are filtered first and a
 * race with a concurrent insert falls back to row-by-row inserts.
 */
import { isUniqueViolation } from "./prisma-runtime.js";
import type { Prisma, PrismaClient } from "./types.js";
import type { StoreProvider } from "./client.js";

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
export async function storeSessions(db: PrismaClient, records: readonly SessionInput[], provider: StoreProvider = "sqlite"): Promise<StoreSessionsResult> {
  const result: StoreSessionsResult = { inserted: [], duplicates: [], conflicts: [] };
  const unique = [...new Map(records.map((r) => [r.id, r])).values()];
  if (unique.length === 0) return result;
  if (provider === "postgresql") return insertPostgres(db, unique, result);
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

// Columns of one INSERT, with the cast each parameter needs (values travel as text).
const COLUMNS: ReadonlyArray<readonly [keyof SessionInput & string, string]> = [
  ["id", ""], ["proxyId", ""], ["seq", "::bigint"], ["prevHash", ""], ["hash", ""], ["startedAt", "::timestamp(3)"],
  ["durationMs", "::integer"], ["requestId", ""], ["issuer", ""], ["subject", ""], ["email", ""], ["groups", "::jsonb"],
  ["connectionId", ""], ["operation", ""], ["graph", ""], ["assistantId", ""], ["threadId", ""], ["runId", ""],
  ["decision", ""], ["reasons", "::jsonb"], ["snapshotVersion", "::bigint"], ["method", ""], ["path", ""],
  ["status", "::integer"], ["requestJson", ""], ["responseJson", ""], ["events", "::jsonb"], ["bytesIn", "::bigint"],
  ["bytesOut", "::bigint"], ["cost", "::double precision"], ["maskCounts", "::jsonb"], ["errorCode", ""],
];
const JSON_COLUMNS = new Set(["groups", "reasons", "events", "maskCounts"]);

function param(column: string, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (JSON_COLUMNS.has(column)) return JSON.stringify(value);
  // TIMESTAMP(3) without time zone holds UTC, as Prisma writes it.
  if (value instanceof Date) return value.toISOString().replace("T", " ").replace("Z", "");
  return String(value);
}

/**
 * PostgreSQL: one `INSERT … ON CONFLICT DO NOTHING RETURNING id` per batch. Prisma's
 * createMany spent ~600 µs of CPU per record planning and rendering the statement, which
 * capped ingest near 1,500 records/s per control-plane core. Rows not returned were
 * already there: the same id is a resend, another id at the same (proxyId, seq) a fork.
 */
async function insertPostgres(db: PrismaClient, rows: readonly SessionInput[], result: StoreSessionsResult): Promise<StoreSessionsResult> {
  const names = COLUMNS.map(([c]) => `"${c}"`).join(", ");
  const params: Array<string | null> = [];
  const tuples = rows.map((row) => {
    const cells = COLUMNS.map(([c, cast]) => {
      params.push(param(c, row[c]));
      return `$${params.length}${cast}`;
    });
    return `(${cells.join(", ")})`;
  });
  const inserted = await db.$queryRawUnsafe<Array<{ id: string }>>(
    `INSERT INTO "Session" (${names}) VALUES ${tuples.join(", ")} ON CONFLICT DO NOTHING RETURNING "id"`,
    ...params,
  );
  const done = new Set(inserted.map((r) => r.id));
  result.inserted.push(...done);
  const missing = rows.filter((r) => !done.has(r.id)).map((r) => r.id);
  if (missing.length) {
    const stored = new Set((await db.session.findMany({ where: { id: { in: missing } }, select: { id: true } })).map((r) => r.id));
    for (const id of missing) (stored.has(id) ? result.duplicates : result.conflicts).push(id);
  }
  return result;
}
