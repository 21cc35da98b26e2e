/**
 * DATABASE_URL parsing shared by the runtime store (client.ts), the start-up migrator
 * and the Prisma CLI configs in prisma/ (which import this file), so that every tool
 * agrees on which database and which PostgreSQL schema a URL means.
 */
import path from "node:path";
import type { PoolConfig } from "pg";

/** Where the SQLite database lives when DATABASE_URL is unset. Relative to the cwd. */
export const DEFAULT_SQLITE_FILE = "./.agentgate/agentgate.db";

/** A SQLite database file (or ":memory:"). */
export interface SqliteTarget {
  provider: "sqlite";
  /** Path of the database file, resolved against the cwd (or ":memory:"). */
  file: string;
}

/** A PostgreSQL database and the schema the tables live in. */
export interface PostgresTarget {
  provider: "postgresql";
  /** Schema of the tables (`?schema=`; "public" if absent). */
  schema: string;
  /**
   * node-postgres pool settings as separate fields (no connectionString: pg lets a
   * connectionString override `database`, which breaks the CLI's shadow database).
   * `options` pins search_path to the schema, so raw SQL (migrations, the
   * `_prisma_migrations` table) lands in the same schema as Prisma's queries.
   */
  poolConfig: PoolConfig;
}

/** Result of {@link parseDatabaseUrl}. */
export type DatabaseTarget = SqliteTarget | PostgresTarget;

/** Identifiers we are willing to splice into SQL (quoted) as a schema name. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

/**
 * Interprets a DATABASE_URL: unset/empty or `file:...` → SQLite, `postgres://` or
 * `postgresql://` → PostgreSQL. Throws on anything else, naming the accepted forms.
 */
export function parseDatabaseUrl(url: string | undefined): DatabaseTarget {
  const raw = url?.trim() ?? "";
  if (raw === "") return { provider: "sqlite", file: path.resolve(DEFAULT_SQLITE_FILE) };
  if (raw.startsWith("file:")) return parseSqliteUrl(raw);
  if (/^postgres(ql)?:\/\//i.test(raw)) return parsePostgresUrl(raw);
  throw new Error(
    `Unsupported DATABASE_URL (${redactUrl(raw)}): expected "file:<path>" (SQLite) or ` +
      `"postgresql://user:password@host:port/database?schema=name" (PostgreSQL)`,
  );
}

function parseSqliteUrl(raw: string): SqliteTarget {
  // Prisma-style query parameters (connection_limit, ...) mean nothing to better-sqlite3.
  let file = raw.slice("file:".length).replace(/\?.*$/, "");
  if (file.startsWith("//")) file = decodeURIComponent(new URL(raw).pathname); // file:///abs
  if (file === "") throw new Error("DATABASE_URL file: needs a path, e.g. file:./.agentgate/agentgate.db");
  return { provider: "sqlite", file: file === ":memory:" ? file : path.resolve(file) };
}

function parsePostgresUrl(raw: string): PostgresTarget {
  const u = new URL(raw);
  const params = u.searchParams;
  const schema = params.get("schema") ?? "public";
  if (!SCHEMA_NAME.test(schema)) throw new Error(`Invalid PostgreSQL schema name in DATABASE_URL: ${schema}`);
  // ?host=/var/run/postgresql selects a unix socket directory, as in libpq.
  const host = params.get("host") ?? (decodeURIComponent(u.hostname) || "localhost");
  const sslmode = params.get("sslmode");
  const poolConfig: PoolConfig = {
    host,
    port: u.port ? Number(u.port) : 5432,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.replace(/^\//, "")) || undefined,
    options: `-c search_path="${schema}"`,
  };
  if (sslmode && sslmode !== "disable") {
    poolConfig.ssl = sslmode === "no-verify" ? { rejectUnauthorized: false } : true;
  }
  const limit = params.get("connection_limit");
  if (limit) poolConfig.max = Number(limit);
  return { provider: "postgresql", schema, poolConfig };
}

/** The URL with its password replaced by "***", for error messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
}
