/**
 * Creates a new migration for BOTH providers from the current models.prisma, offline:
 *
 *   npm run prisma:migration -- add_session_tags
 *
 * For each folder it asks the wasm schema engine for the difference between the
 * committed migrations (replayed into a shadow database: SQLite in memory, PostgreSQL a
 * scratch database created and dropped through MIGRATION_PG_URL, default
 * postgresql://postgres@127.0.0.1:5432/postgres) and the schema, and writes it to
 * prisma/<folder>/migrations/<timestamp>_<name>/migration.sql (same timestamp on both).
 * Nothing is applied; the control plane applies it at its next start.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runPrisma, type SchemaFolder } from "./run-cli.js";

const EMPTY = "-- This is an empty migration.";

/** "20261125134533": Prisma's migration folder timestamp (UTC). */
function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** The SQL that brings the committed migrations of `folder` up to models.prisma ("" if none). */
function diff(folder: SchemaFolder, url: string): string {
  const args = ["migrate", "diff", "--from-migrations", `prisma/${folder}/migrations`, "--to-schema-datamodel", `prisma/${folder}`, "--script"];
  const result = runPrisma(folder, args, { url, capture: true });
  if (result.status !== 0) throw new Error(`migrate diff failed for prisma/${folder}:\n${result.stderr}${result.stdout}`);
  const sql = result.stdout.trim();
  return sql === EMPTY ? "" : `${sql}\n`;
}

function main(): void {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error("usage: npm run prisma:migration -- <name in snake_case>");
    process.exit(2);
  }
  const scratch = mkdtempSync(path.join(tmpdir(), "agentgate-migration-"));
  try {
    const stamp = timestamp();
    const urls: Record<SchemaFolder, string> = {
      // The engine opens (and creates) this file but only the in-memory shadow matters.
      sqlite: `file:${path.join(scratch, "scratch.db")}`,
      postgres: process.env.MIGRATION_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres",
    };
    for (const folder of ["sqlite", "postgres"] as const) {
      const sql = diff(folder, urls[folder]);
      if (!sql) {
        console.log(`prisma/${folder}: schema matches the migrations, nothing to write`);
        continue;
      }
      const dir = fileURLToPath(new URL(`./${folder}/migrations/${stamp}_${name}/`, import.meta.url));
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, "migration.sql"), sql);
      console.log(`prisma/${folder}: wrote ${path.relative(process.cwd(), path.join(dir, "migration.sql"))}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main();
