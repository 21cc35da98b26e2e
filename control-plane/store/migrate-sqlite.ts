/**
 * SQLite side of the start-up migrator (see migrate.ts). Each migration runs in its own
 * `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock up front: a second
 * migrator (another control plane on the same file) waits for it (busy timeout) and
 * then re-reads the history inside its own transaction, so each file is applied once.
 */
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { SqliteTarget } from "./database-url.js";
import {
  isApplied,
  MigrationError,
  unknownMigrations,
  type AppliedMigrationRow,
  type MigrationFile,
} from "./migrations.js";

/** Prisma's own DDL for the history table on SQLite (so the Prisma CLI accepts it). */
const CREATE_HISTORY = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;
const SELECT_HISTORY = `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`;
const INSERT_HISTORY = `INSERT INTO "_prisma_migrations"
  (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
  VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)`;

/** Prisma writes SQLite timestamps as RFC 3339 with "+00:00"; keep the same text. */
const timestamp = (d: Date): string => d.toISOString().replace("Z", "+00:00");

/** Runs `fn` inside BEGIN IMMEDIATE ... COMMIT, rolling back on any error. */
function immediate<T>(db: Database.Database, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

/** Options of {@link migrateSqlite}. */
export interface SqliteMigrateOptions {
  /** How long to wait for another writer's lock (ms). */
  busyTimeoutMs: number;
}

/** Applies the pending `migrations` to the SQLite file; returns the names applied now and unknown ones. */
export function migrateSqlite(
  target: SqliteTarget,
  migrations: readonly MigrationFile[],
  options: SqliteMigrateOptions,
): { applied: string[]; unknown: string[] } {
  if (target.file !== ":memory:") mkdirSync(path.dirname(target.file), { recursive: true });
  const db = new Database(target.file, { timeout: options.busyTimeoutMs });
  try {
    // WAL lets the control plane read while a write (e.g. a session batch) is under way.
    // Persistent in the file; a no-op when already set.
    if (target.file !== ":memory:") db.pragma("journal_mode = WAL");
    // Prisma's table-redefinition migrations (create new_X, copy, drop X, rename) must
    // not trigger ON DELETE actions when X is dropped. Their own "PRAGMA foreign_keys=OFF"
    // is a no-op inside our transaction, so turn enforcement off for this connection
    // before BEGIN and check integrity explicitly before each COMMIT.
    db.pragma("foreign_keys = OFF");
    immediate(db, () => db.exec(CREATE_HISTORY));
    const applied: string[] = [];
    for (const migration of migrations) {
      immediate(db, () => {
        const rows = db.prepare(`${SELECT_HISTORY} WHERE migration_name = ?`).all(migration.name) as AppliedMigrationRow[];
        if (isApplied(migration, rows)) return;
        const startedAt = timestamp(new Date());
        try {
          db.exec(migration.sql);
        } catch (error) {
          throw new MigrationError(`Migration ${migration.name} failed (rolled back): ${(error as Error).message}`, { cause: error });
        }
        const violations = db.pragma("foreign_key_check") as unknown[];
        if (violations.length > 0) {
          throw new MigrationError(`Migration ${migration.name} leaves foreign key violations (rolled back): ${JSON.stringify(violations.slice(0, 5))}`);
        }
        db.prepare(INSERT_HISTORY).run(randomUUID(), migration.checksum, timestamp(new Date()), migration.name, startedAt);
        applied.push(migration.name);
      });
    }
    const rows = db.prepare(SELECT_HISTORY).all() as AppliedMigrationRow[];
    return { applied, unknown: unknownMigrations(migrations, rows) };
  } finally {
    db.close();
  }
}
