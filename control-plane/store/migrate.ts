/**
 * Start-up migrator: applies the committed migrations (prisma/<provider>/migrations)
 * without Prisma's schema engine, which needs a download that is impossible offline.
 *
 * The SQL files are applied in name order, each in its own transaction, and recorded in
 * Prisma's `_prisma_migrations` table exactly as the Prisma CLI records them
 * (checksum = sha256 of the file), so `prisma migrate status` / `deploy` agree with it
 * and the two can be mixed. An applied migration whose file changed is refused.
 * Concurrent start of several control planes is safe (PostgreSQL advisory lock, SQLite
 * BEGIN IMMEDIATE). Migrations must therefore be transaction-safe (no CREATE INDEX
 * CONCURRENTLY).
 */
import { parseDatabaseUrl, type DatabaseTarget } from "./database-url.js";
import { migratePostgres } from "./migrate-postgres.js";
import { migrateSqlite } from "./migrate-sqlite.js";
import { defaultMigrationsDir, readMigrations } from "./migrations.js";

export { MigrationError } from "./migrations.js";

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Folder of committed migrations; default: this repository's prisma/<provider>/migrations. */
  migrationsDir?: string;
  /** How long to wait for a concurrent migrator (ms). Default 60 000. */
  lockTimeoutMs?: number;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  provider: DatabaseTarget["provider"];
  /** Migrations applied by this call, in order (empty when already up to date). */
  applied: string[];
  /** Migrations recorded in the database without a folder here (applied by a newer build). */
  unknown: string[];
  durationMs: number;
}

/**
 * Brings the database named by `databaseUrl` (or the parsed target) up to date.
 * Throws a MigrationError when the history cannot be reconciled or a migration fails
 * (the failed migration is rolled back and not recorded).
 */
export async function migrate(databaseUrl: string | DatabaseTarget | undefined, options: MigrateOptions = {}): Promise<MigrateResult> {
  const started = performance.now();
  const target = typeof databaseUrl === "object" ? databaseUrl : parseDatabaseUrl(databaseUrl);
  const migrations = readMigrations(options.migrationsDir ?? defaultMigrationsDir(target.provider), target.provider);
  const timeoutMs = options.lockTimeoutMs ?? 60_000;
  const outcome =
    target.provider === "sqlite"
      ? migrateSqlite(target, migrations, { busyTimeoutMs: timeoutMs })
      : await migratePostgres(target, migrations, { lockTimeoutMs: timeoutMs });
  return { provider: target.provider, ...outcome, durationMs: Math.round(performance.now() - started) };
}
