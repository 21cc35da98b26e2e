/**
 * Idempotent storage of session records (DESIGN.md §3: proxies deliver at least once
 * and resend what was not acked), with one statement and one parameter per batch on both databases.
 */
import type { Pool } from "pg";
import type { Prisma, PrismaClient } from "./types.js";
import type { StoreProvider } from "./client.js";
import { SCANNED_TEXT, type ScannedRecord } from "../sessions/record-mapping.js";

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

/** The pool session batches of `db` go through on PostgreSQL (undefined on SQLite). */
export function sessionPool(db: PrismaClient): Pool | undefined {
  return sessionPools.get(db);
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
 * Sorts a batch's rows by what the insert did: inserted (returned), else already stored
 * under the same id (a resend: duplicate), else refused at a taken (proxyId, seq) (a fork:
 * conflict). `storedIds` looks up which of the rows not inserted exist by id.
 */
async function sortOutcome(rows: ReadonlyArray<{ readonly id: string }>, inserted: ReadonlyArray<{ id: string }>, result: StoreSessionsResult, storedIds: (ids: string[]) => Promise<string[]>): Promise<StoreSessionsResult> {
  const done = new Set(inserted.map((r) => r.id));
  const missing: string[] = [];
  for (const row of rows) {
    if (done.has(row.id)) result.inserted.push(row.id);
    else missing.push(row.id);
  }
  if (missing.length) {
    const stored = new Set(await storedIds(missing));
    for (const id of missing) (stored.has(id) ? result.duplicates : result.conflicts).push(id);
  }
  return result;
}

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
  return sortOutcome(rows, inserted, result, async (missing) => (await db.session.findMany({ where: { id: { in: missing } }, select: { id: true } })).map((r) => r.id));
}

// ---------------------------------------------------------------- PostgreSQL, binary arrays

/*
 * Scanned records (sessions/record-mapping.ts `scanSealed`) go to PostgreSQL as ONE
 * `INSERT … SELECT … FROM unnest($2::text[], $3::int8[], …)` whose arrays are parameters in
 * PostgreSQL's binary format (node-postgres sends a Buffer parameter as binary): a text
 * element is the UTF-8 bytes the proxy sealed, copied once into the array; numbers are
 * fixed-width. Nothing is escaped, quoted or parsed as JSON on either side except the four
 * JSON columns. Measured against the JSON parameter (bench/ingest.bench.ts breakdown, see
 * bench/README.md): the batch's ~260 KB JSON text was built, measured (Buffer.byteLength)
 * and written by the control plane, then parsed again by json_to_recordset.
 */

// Element type OIDs (pg_type) of the arrays below.
const OID = { text: 25, int8: 20, int4: 23, float8: 701, timestamp: 1114, jsonb: 3802 } as const;
type ElementType = keyof typeof OID;
// PostgreSQL timestamps count µs from 2000-01-01 (pgtypes: POSTGRES_EPOCH_JDATE).
const PG_EPOCH_MS = 946_684_800_000n;
const INT8_MAX = 2n ** 63n - 1n;
const INT4_MAX = 2 ** 31 - 1;

/** A record PostgreSQL cannot hold as a row (a value outside its column's type): refused like a class-22 error. */
export class SessionValueError extends Error {
  override readonly name = "SessionValueError";
  readonly code = "22003"; // numeric_value_out_of_range: ingest.ts treats it as a data error
  readonly severity = "ERROR";
}

/** Writes a one-dimensional array's header (array_recv); returns where the elements start. */
function arrayHeader(buf: Buffer, type: ElementType, n: number, nulls: boolean): number {
  buf.writeInt32BE(1, 0); // dimensions
  buf.writeInt32BE(nulls ? 1 : 0, 4);
  buf.writeUInt32BE(OID[type], 8);
  buf.writeInt32BE(n, 12); // length of the dimension
  buf.writeInt32BE(1, 16); // lower bound
  return 20;
}

/** text or jsonb elements (NULL for null); jsonb's binary form is a version byte (1) before the text. */
function textArray(values: ReadonlyArray<Uint8Array | string | null>, type: "text" | "jsonb" = "text"): Buffer {
  const prefix = type === "jsonb" ? 1 : 0;
  const n = values.length;
  const lengths = new Int32Array(n);
  let size = 20 + 4 * n;
  let nulls = false;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const len = v === null ? -1 : prefix + (typeof v === "string" ? Buffer.byteLength(v) : v.length);
    lengths[i] = len;
    if (len < 0) nulls = true;
    else size += len;
  }
  const buf = Buffer.allocUnsafe(size);
  let at = arrayHeader(buf, type, n, nulls);
  for (let i = 0; i < n; i++) {
    const len = lengths[i]!;
    buf.writeInt32BE(len, at);
    at += 4;
    if (len < 0) continue;
    const v = values[i]!;
    if (prefix) buf[at] = 1;
    if (typeof v === "string") buf.write(v, at + prefix, len - prefix, "utf8");
    else buf.set(v, at + prefix);
    at += len;
  }
  return buf;
}

/** Fixed-width elements: 8-byte integers (int8, timestamp µs) or doubles, 4-byte integers. */
function fixedArray(type: "int8" | "timestamp" | "float8" | "int4", n: number, write: (buf: Buffer, at: number, i: number) => void): Buffer {
  const width = type === "int4" ? 4 : 8;
  const buf = Buffer.allocUnsafe(20 + n * (4 + width));
  let at = arrayHeader(buf, type, n, false);
  for (let i = 0; i < n; i++) {
    buf.writeInt32BE(width, at);
    write(buf, at + 4, i);
    at += 4 + width;
  }
  return buf;
}

function int8Array(values: readonly bigint[], column: string, type: "int8" | "timestamp" = "int8"): Buffer {
  for (const v of values) if (v > INT8_MAX || v < -INT8_MAX - 1n) throw new SessionValueError(`${column} ${v} is out of range`);
  return fixedArray(type, values.length, (buf, at, i) => buf.writeBigInt64BE(values[i]!, at));
}

function int4Array(values: readonly number[], column: string): Buffer {
  for (const v of values) if (v > INT4_MAX) throw new SessionValueError(`${column} ${v} is out of range for integer`);
  return fixedArray("int4", values.length, (buf, at, i) => buf.writeInt32BE(values[i]!, at));
}

// The statement's columns: name, array type, and the values of a batch.
const SEALED_COLUMNS: ReadonlyArray<readonly [string, string, (rows: readonly ScannedRecord[]) => Buffer]> = [
  ["id", "text[]", (rows) => textArray(rows.map((r) => r.id))],
  ["proxyId", "text[]", (rows) => textArray(rows.map((r) => r.proxyId))],
  ["seq", "int8[]", (rows) => int8Array(rows.map((r) => r.seq), "seq")],
  ["prevHash", "text[]", (rows) => textArray(rows.map((r) => r.prevHash))],
  ["hash", "text[]", (rows) => textArray(rows.map((r) => r.hash))],
  ["startedAt", "timestamp[]", (rows) => int8Array(rows.map((r) => (r.startedAtMs - PG_EPOCH_MS) * 1000n), "startedAt", "timestamp")],
  ["durationMs", "int4[]", (rows) => int4Array(rows.map((r) => r.durationMs), "durationMs")],
  ["status", "int4[]", (rows) => int4Array(rows.map((r) => r.status), "status")],
  ["snapshotVersion", "int8[]", (rows) => int8Array(rows.map((r) => r.snapshotVersion), "snapshotVersion")],
  ["bytesIn", "int8[]", (rows) => int8Array(rows.map((r) => r.bytesIn), "bytesIn")],
  ["bytesOut", "int8[]", (rows) => int8Array(rows.map((r) => r.bytesOut), "bytesOut")],
  ["cost", "float8[]", (rows) => fixedArray("float8", rows.length, (buf, at, i) => buf.writeDoubleBE(rows[i]!.cost + 0, at))],
  ["groups", "jsonb[]", (rows) => textArray(rows.map((r) => JSON.stringify(r.groups)), "jsonb")],
  ["reasons", "jsonb[]", (rows) => textArray(rows.map((r) => JSON.stringify(r.reasons)), "jsonb")],
  ["events", "jsonb[]", (rows) => textArray(rows.map((r) => JSON.stringify(r.events)), "jsonb")],
  ["maskCounts", "jsonb[]", (rows) => textArray(rows.map((r) => JSON.stringify(r.maskCounts)), "jsonb")],
  ...SCANNED_TEXT.map(({ column, nullable }, slot): readonly [string, string, (rows: readonly ScannedRecord[]) => Buffer] => [
    column,
    "text[]",
    (rows) => textArray(rows.map((r) => r.text[slot] ?? (nullable ? null : ""))),
  ]),
];

const SEALED_NAMES = SEALED_COLUMNS.map(([c]) => `"${c}"`).join(", ");
const SEALED_INSERT = {
  // Named: prepared once per connection of the pool.
  name: "agentgate_store_sealed_sessions_v1",
  text:
    `INSERT INTO "Session" ("receivedAt", ${SEALED_NAMES}) SELECT $1::timestamp(3), ${SEALED_NAMES} ` +
    `FROM unnest(${SEALED_COLUMNS.map(([, type], i) => `$${i + 2}::${type}`).join(", ")}) AS x(${SEALED_NAMES}) ` +
    `ON CONFLICT DO NOTHING RETURNING "id"`,
};

/**
 * Stores scanned records through `pool` (PostgreSQL), each at most once by id, in one
 * all-or-nothing statement; the outcome as {@link storeSessions}'. Throws SessionValueError
 * (before any I/O) for a value its column cannot hold, node-postgres' DatabaseError for
 * one PostgreSQL refuses (e.g. U+0000 in text: class 22).
 */
export async function storeScannedSessions(pool: Pool, records: readonly ScannedRecord[]): Promise<StoreSessionsResult> {
  const result: StoreSessionsResult = { inserted: [], duplicates: [], conflicts: [] };
  const rows = [...new Map(records.map((r) => [r.id, r])).values()];
  if (rows.length === 0) return result;
  const values: Array<string | Buffer> = [dateText(new Date(), "postgresql")];
  for (const [, , encode] of SEALED_COLUMNS) values.push(encode(rows));
  const inserted = (await pool.query<{ id: string }>({ ...SEALED_INSERT, values })).rows;
  await sortOutcome(rows, inserted, result, async (missing) => (await pool.query<{ id: string }>(`SELECT "id" FROM "Session" WHERE "id" = ANY($1::text[])`, [missing])).rows.map((r) => r.id));
  return result;
}
