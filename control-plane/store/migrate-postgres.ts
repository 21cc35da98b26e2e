/**
 * PostgreSQL side of the start-up migrator (see migrate.ts). One dedicated connection
 * holds a session-level advisory lock for the whole run, with the same key the Prisma
 * CLI uses, so two control planes (or a control plane and `prisma migrate deploy`)
 * never migrate one database at the same time. Each migration runs in its own
 * transaction (PostgreSQL DDL is transactional), together with its history row.
 */
import pg from "pg";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { PostgresTarget } from "./database-url.js";
import {
  isApplied,
  MigrationError,
  unknownMigrations,
  type AppliedMigrationRow,
  type MigrationFile,
} from "./migrations.js";

/** The advisory lock key of Prisma's schema engine (`pg_advisory_lock(72707369)`). */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

/** Prisma's own DDL for the history table on PostgreSQL (so the Prisma CLI accepts it). */
const CREATE_HISTORY = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;
const SELECT_HISTORY = `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`;
const INSERT_HISTORY = `INSERT INTO "_prisma_migrations"
  (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
  VALUES ($1, $2, now(), $3, NULL, NULL, $4, 1)`;

/** Options of {@link migratePostgres}. */
export interface PostgresMigrateOptions {
  /** How long to wait for another migrator's advisory lock before giving up (ms). */
  lockTimeoutMs: number;
}

/**
 * Polls pg_try_advisory_lock rather than blocking in pg_advisory_lock, so a stuck peer
 * gives a clear error after lockTimeoutMs instead of an endless start-up.
 */
async function acquireLock(client: pg.Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [PRISMA_ADVISORY_LOCK_KEY]);
    if (rows[0]?.locked) return;
    if (Date.now() >= deadline) {
      throw new MigrationError(
        `Timed out after ${timeoutMs} ms waiting for the migration lock (pg_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY})): ` +
          "another control plane or `prisma migrate` is migrating this database",
      );
    }
    await sleep(delay);
  }
}

/** Applies the pending `migrations` in the target schema (created if missing). */
export async function migratePostgres(
  target: PostgresTarget,
  migrations: readonly MigrationFile[],
  options: PostgresMigrateOptions,
): Promise<{ applied: string[]; unknown: string[] }> {
  // poolConfig.options pins search_path to the schema: unqualified names in the
  // migration files and the history table resolve there.
  const client = new pg.Client(target.poolConfig);
  await client.connect();
  try {
    await acquireLock(client, options.lockTimeoutMs);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${target.schema}"`);
      await client.query(CREATE_HISTORY);
      const rows = (await client.query<AppliedMigrationRow>(SELECT_HISTORY)).rows;
      const pending = migrations.filter((m) => !isApplied(m, rows));
      for (const migration of pending) {
        const startedAt = new Date();
        await client.query("BEGIN");
        try {
          // No parameters: the simple query protocol runs the multi-statement file as is.
          await client.query(migration.sql);
          await client.query(INSERT_HISTORY, [randomUUID(), migration.checksum, migration.name, startedAt]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw new MigrationError(`Migration ${migration.name} failed (rolled back): ${(error as Error).message}`, { cause: error });
        }
      }
      return { applied: pending.map((m) => m.name), unknown: unknownMigrations(migrations, rows) };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}
