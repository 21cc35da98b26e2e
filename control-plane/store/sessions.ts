/**
 * Idempotent storage of session records (DESIGN.md §3: proxies deliver at least once
 * and resend what was not acked), with one statement per batch on both databases.
 */
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
export async function storeSessions(db: PrismaClient, records: readonly SessionInput[], provider: StoreProvider): Promise<StoreSessionsResult> {
  const result: StoreSessionsResult = { inserted: [], duplicates: [], conflicts: [] };
  const unique = [...new Map(records.map((r) => [r.id, r])).values()];
  if (unique.length === 0) return result;
  return insertRaw(db, unique, result, provider);
}

// Columns of one INSERT, with the cast each parameter needs on PostgreSQL (values travel as text).
const COLUMNS: ReadonlyArray<readonly [keyof SessionInput & string, string]> = [
  ["id", ""], ["proxyId", ""], ["seq", "::bigint"], ["prevHash", ""], ["hash", ""], ["startedAt", "::timestamp(3)"],
  ["durationMs", "::integer"], ["requestId", ""], ["issuer", ""], ["subject", ""], ["email", ""], ["groups", "::jsonb"],
  ["connectionId", ""], ["operation", ""], ["graph", ""], ["assistantId", ""], ["threadId", ""], ["runId", ""],
  ["decision", ""], ["reasons", "::jsonb"], ["snapshotVersion", "::bigint"], ["method", ""], ["path", ""],
  ["status", "::integer"], ["requestJson", ""], ["responseJson", ""], ["events", "::jsonb"], ["bytesIn", "::bigint"],
  ["bytesOut", "::bigint"], ["cost", "::double precision"], ["maskCounts", "::jsonb"], ["errorCode", ""],
  ["receivedAt", "::timestamp(3)"],
];
const JSON_COLUMNS = new Set(["groups", "reasons", "events", "maskCounts"]);

/** A parameter as text, in the form each database stores (the way Prisma writes it). */
function param(column: string, value: unknown, provider: StoreProvider): string | null {
  if (value === null || value === undefined) return null;
  if (JSON_COLUMNS.has(column)) return JSON.stringify(value);
  if (value instanceof Date) {
    const iso = value.toISOString();
    // PostgreSQL TIMESTAMP(3) without time zone holds UTC; Prisma writes SQLite dates as ISO text with +00:00.
    return provider === "postgresql" ? iso.replace("T", " ").replace("Z", "") : iso.replace("Z", "+00:00");
  }
  return String(value);
}

/**
 * One `INSERT … ON CONFLICT DO NOTHING RETURNING id` per batch (PostgreSQL, and SQLite
 * ≥ 3.35). Prisma's createMany spent ~600 µs of CPU per record planning and rendering the
 * statement, which capped ingest near 1,500 records/s per control-plane core. Rows not
 * returned were already there: the same id is a resend, another id at the same
 * (proxyId, seq) a fork.
 */
async function insertRaw(db: PrismaClient, rows: readonly SessionInput[], result: StoreSessionsResult, provider: StoreProvider): Promise<StoreSessionsResult> {
  const names = COLUMNS.map(([c]) => `"${c}"`).join(", ");
  const params: Array<string | null> = [];
  const receivedAt = new Date();
  const tuples = rows.map((row) => {
    const cells = COLUMNS.map(([c, cast]) => {
      params.push(param(c, c === "receivedAt" ? receivedAt : row[c], provider));
      return provider === "postgresql" ? `$${params.length}${cast}` : "?";
    });
    return `(${cells.join(", ")})`;
  });
  const inserted = await db.$queryRawUnsafe<Array<{ id: string }>>(
    `INSERT INTO "Session" (${names}) VALUES ${tuples.join(", ")} ON CONFLICT DO NOTHING RETURNING "id"`,
    ...params,
  );
  const done = new Set(inserted.map((r) => r.id));
  result.inserted.push(...rows.filter((r) => done.has(r.id)).map((r) => r.id));
  const missing = rows.filter((r) => !done.has(r.id)).map((r) => r.id);
  if (missing.length) {
    const stored = new Set((await db.session.findMany({ where: { id: { in: missing } }, select: { id: true } })).map((r) => r.id));
    for (const id of missing) (stored.has(id) ? result.duplicates : result.conflicts).push(id);
  }
  return result;
}
