/**
 * Idempotent storage of session records (DESIGN.md §3: proxies deliver at least once
 * and resend what was not acked), with one statement and one parameter per batch on both databases.
 */
import type { Pool } from "pg";
import type { Prisma, PrismaClient } from "./types.js";
import type { StoreProvider } from "./client.js";

/**
 * PostgreSQL pools that batches of a client's sessions are inserted through, bypassing
 * Prisma (openStore attaches one). Measured (bench/ingest.bench.ts breakdown, 200-record
 * batches of ~1.3 KB records): handing the batch's ~260 KB JSON parameter through Prisma's
 * query compiler (copied into and out of its wasm) was ~45% of the control plane's ingest
 * CPU; node-postgres writes it to the socket once.
 */
const sessionPools = new WeakMap<object, Pool>();

/** Session batches of `db` go through `pool` (same database and search_path). */
export function attachSessionPool(db: PrismaClient, pool: Pool): void {
  sessionPools.set(db, pool);
}

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

// The Session columns a batch writes, with their PostgreSQL type inside json_to_recordset.
const COLUMNS: ReadonlyArray<readonly [keyof SessionInput & string, string]> = [
  ["id", "text"], ["proxyId", "text"], ["seq", "bigint"], ["prevHash", "text"], ["hash", "text"], ["startedAt", "timestamp(3)"],
  ["durationMs", "integer"], ["requestId", "text"], ["issuer", "text"], ["subject", "text"], ["email", "text"], ["groups", "jsonb"],
  ["connectionId", "text"], ["operation", "text"], ["graph", "text"], ["assistantId", "text"], ["threadId", "text"], ["runId", "text"],
  ["decision", "text"], ["reasons", "jsonb"], ["snapshotVersion", "bigint"], ["method", "text"], ["path", "text"],
  ["status", "integer"], ["requestJson", "text"], ["responseJson", "text"], ["events", "jsonb"], ["bytesIn", "bigint"],
  ["bytesOut", "bigint"], ["cost", "double precision"], ["maskCounts", "jsonb"], ["errorCode", "text"],
];

/** A date in the form each database stores (the way Prisma writes it). */
function dateText(value: Date, provider: StoreProvider): string {
  const iso = value.toISOString();
  // PostgreSQL TIMESTAMP(3) without time zone holds UTC; Prisma writes SQLite dates as ISO text with +00:00.
  return provider === "postgresql" ? iso.replace("T", " ").replace("Z", "") : iso.replace("Z", "+00:00");
}

/**
 * A row as one JSON object: 64-bit integers and the double as strings (exact), dates as
 * stored; keys that are not columns are ignored by the statement, missing ones are NULL.
 */
function jsonRow(row: SessionInput, provider: StoreProvider): Record<string, unknown> {
  return {
    ...row,
    seq: String(row.seq),
    snapshotVersion: String(row.snapshotVersion),
    bytesIn: String(row.bytesIn),
    bytesOut: String(row.bytesOut),
    cost: String(row.cost ?? 0),
    startedAt: dateText(new Date(row.startedAt), provider),
    receivedAt: undefined,
  };
}

// The statements are the same for every batch: built once per provider.
const NAMES = COLUMNS.map(([c]) => `"${c}"`).join(", ");
const INSERT_SQL: Record<StoreProvider, string> = {
  postgresql:
    `INSERT INTO "Session" ("receivedAt", ${NAMES}) SELECT $1::timestamp(3), ${NAMES} ` +
    `FROM json_to_recordset($2::json) AS x(${COLUMNS.map(([c, type]) => `"${c}" ${type}`).join(", ")}) ` +
    `ON CONFLICT DO NOTHING RETURNING "id"`,
  // SQLite's JSON1 (built in): one value per column of each array element; WHERE true lets the
  // parser tell the upsert clause from a join constraint.
  sqlite:
    `INSERT INTO "Session" ("receivedAt", ${NAMES}) SELECT ?, ${COLUMNS.map(([c]) => `json_extract(value, '$.${c}')`).join(", ")} ` +
    `FROM json_each(?) WHERE true ON CONFLICT DO NOTHING RETURNING "id"`,
};

/**
 * One `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING id` per batch, whose rows travel
 * as ONE JSON parameter (PostgreSQL `json_to_recordset`, SQLite `json_each`): a single
 * statement is all-or-nothing (a failed batch stores nothing, and its resend is not a
 * duplicate). Measured (bench/ingest.bench.ts breakdown): one parameter per cell (33 per
 * record) cost ~170 µs of control-plane CPU per record in Prisma's parameter handling;
 * Prisma's createMany ~600 µs. Rows not returned were already there: the same id is a
 * resend, another id at the same (proxyId, seq) a fork.
 */
async function insertRaw(db: PrismaClient, rows: readonly SessionInput[], result: StoreSessionsResult, provider: StoreProvider): Promise<StoreSessionsResult> {
  const batch = JSON.stringify(rows.map((row) => jsonRow(row, provider)));
  const params = [dateText(new Date(), provider), batch];
  const pool = provider === "postgresql" ? sessionPools.get(db) : undefined;
  const inserted = pool ? (await pool.query<{ id: string }>(INSERT_SQL[provider], params)).rows : await db.$queryRawUnsafe<Array<{ id: string }>>(INSERT_SQL[provider], ...params);
  const done = new Set(inserted.map((r) => r.id));
  const missing: string[] = [];
  for (const row of rows) {
    if (done.has(row.id)) result.inserted.push(row.id);
    else missing.push(row.id);
  }
  if (missing.length) {
    const stored = new Set((await db.session.findMany({ where: { id: { in: missing } }, select: { id: true } })).map((r) => r.id));
    for (const id of missing) (stored.has(id) ? result.duplicates : result.conflicts).push(id);
  }
  return result;
}
