/**
 * Multi-row INSERTs through `$executeRaw` (placeholders rendered per database by Prisma's
 * `sqltag`/`join`), for the bulk policy-file path. Prisma's `createMany` measured 0.35 ms
 * per row for role bindings on PostgreSQL (17 s for 50,000, load 14) — the engine plans
 * and renders each row — where one INSERT of 1,000 rows costs a few milliseconds (see
 * bench/README.md, "Bulk policy"). `createdAt` is left to the column default (the
 * migrations' CURRENT_TIMESTAMP), ids are UUIDv7 like Prisma's `uuid(7)`.
 */
import { join, sqltag as sql, raw } from "@prisma/client/runtime/client";
import { createUuidV7 } from "../../common/recording/uuidv7.js";
import type { Tx } from "../store/client.js";

/** Rows per INSERT: 6 parameters each, well under SQLite's 32,766 and PostgreSQL's 65,535. */
export const INSERT_ROWS = 1_000;

const uuid = createUuidV7();

type Cell = string | null;

/**
 * Column values every row gets, as SQL both databases read the same way: an untyped
 * literal (PostgreSQL casts '[]' to JSONB itself; a typed parameter it would refuse).
 */
const CONSTANTS = {
  RoleBinding: {},
  Identity: { groups: "'[]'", updatedAt: "CURRENT_TIMESTAMP" },
} as const;

/** Inserts `rows` (each the `columns`' values, in order) into `table`; returns the new rows' ids, in order. */
export async function insertRows(tx: Tx, table: keyof typeof CONSTANTS, columns: readonly string[], rows: readonly Cell[][]): Promise<string[]> {
  const ids = rows.map(() => uuid());
  const constants = Object.entries(CONSTANTS[table]);
  const names = raw(["id", ...columns, ...constants.map(([c]) => c)].map((c) => `"${c}"`).join(", "));
  const fixed = constants.map(([, v]) => raw(v));
  for (let i = 0; i < rows.length; i += INSERT_ROWS) {
    const tuples = rows.slice(i, i + INSERT_ROWS).map((row, j) => sql`(${join([ids[i + j]!, ...row, ...fixed])})`);
    await tx.$executeRaw(sql`INSERT INTO ${raw(`"${table}"`)} (${names}) VALUES ${join(tuples)}`);
  }
  return ids;
}
