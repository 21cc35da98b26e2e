/**
 * Reading the committed migration folders (prisma/<provider>/migrations, Prisma's
 * layout: one `<timestamp>_<name>/migration.sql` per migration, applied in name order)
 * and deciding which ones are pending, the way `prisma migrate deploy` does.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { DatabaseTarget } from "./database-url.js";

/** One committed migration. */
export interface MigrationFile {
  /** Folder name, e.g. "20261125134533_init" (Prisma's `migration_name`). */
  name: string;
  /** The SQL script, verbatim. */
  sql: string;
  /** Hex sha256 of the file's bytes, as Prisma stores it in `_prisma_migrations.checksum`. */
  checksum: string;
}

/** A row of Prisma's `_prisma_migrations` table (only the columns we decide on). */
export interface AppliedMigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/** Thrown when the database's migration history cannot be reconciled with the files. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

/** The committed migrations folder of a provider, inside this repository. */
export function defaultMigrationsDir(provider: DatabaseTarget["provider"]): string {
  const folder = provider === "sqlite" ? "sqlite" : "postgres";
  return fileURLToPath(new URL(`../../prisma/${folder}/migrations/`, import.meta.url));
}

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/**
 * Reads every `<dir>/<name>/migration.sql`, sorted by name. Refuses a folder whose
 * migration_lock.toml names another provider (e.g. the SQLite folder on PostgreSQL).
 */
export function readMigrations(dir: string, provider: DatabaseTarget["provider"]): MigrationFile[] {
  if (!existsSync(dir)) throw new MigrationError(`Migrations folder not found: ${dir}`);
  const lockFile = path.join(dir, "migration_lock.toml");
  if (existsSync(lockFile)) {
    const locked = /provider\s*=\s*"([^"]+)"/.exec(readFileSync(lockFile, "utf8"))?.[1];
    if (locked && locked !== provider) {
      throw new MigrationError(`${dir} holds ${locked} migrations, not ${provider} ones`);
    }
  }
  return readdirSync(dir)
    .filter((name) => statSync(path.join(dir, name)).isDirectory())
    .sort()
    .map((name) => {
      const file = path.join(dir, name, "migration.sql");
      if (!existsSync(file)) throw new MigrationError(`Migration ${name} has no migration.sql (${file})`);
      const bytes = readFileSync(file);
      return { name, sql: bytes.toString("utf8"), checksum: sha256(bytes) };
    });
}

/**
 * Whether `checksum` (from the database) matches the file. Like Prisma, a file that
 * only differs by line endings (git autocrlf) still matches.
 */
function checksumMatches(file: MigrationFile, checksum: string): boolean {
  if (checksum === file.checksum) return true;
  const lf = file.sql.replace(/\r\n/g, "\n");
  return checksum === sha256(lf) || checksum === sha256(lf.replace(/\n/g, "\r\n"));
}

/**
 * Decides whether one migration is already applied, given the `_prisma_migrations`
 * rows with its name. Throws if it was applied with different content (the file was
 * edited after being applied) or if a failed attempt recorded by the Prisma CLI is
 * unresolved (Prisma's P3009; fix with `prisma migrate resolve`).
 */
export function isApplied(file: MigrationFile, rows: readonly AppliedMigrationRow[]): boolean {
  const live = rows.filter((r) => r.migration_name === file.name && r.rolled_back_at == null);
  const done = live.find((r) => r.finished_at != null);
  if (done) {
    if (!checksumMatches(file, done.checksum)) {
      throw new MigrationError(
        `Migration ${file.name} was modified after it was applied (checksum in database ${done.checksum}, ` +
          `file ${file.checksum}). Never edit an applied migration: restore the file and add a new migration.`,
      );
    }
    return true;
  }
  if (live.length > 0) {
    throw new MigrationError(
      `Migration ${file.name} is recorded as failed and unresolved in _prisma_migrations. Repair the database, ` +
        `then run \`prisma migrate resolve --rolled-back ${file.name}\` (or --applied).`,
    );
  }
  return false;
}

/** Names of migrations recorded as applied that have no folder (a newer build ran). */
export function unknownMigrations(files: readonly MigrationFile[], rows: readonly AppliedMigrationRow[]): string[] {
  const known = new Set(files.map((f) => f.name));
  return [...new Set(rows.filter((r) => r.finished_at != null && r.rolled_back_at == null).map((r) => r.migration_name))]
    .filter((name) => !known.has(name))
    .sort();
}
