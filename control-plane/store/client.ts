/**
 * Opening the control plane's database: picks SQLite or PostgreSQL from DATABASE_URL,
 * applies pending committed migrations (migrate.ts, no schema engine) and returns a
 * Prisma client on the matching generated client + driver adapter.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseDatabaseUrl, type DatabaseTarget } from "./database-url.js";
import { migrate, type MigrateOptions, type MigrateResult } from "./migrate.js";
import type { PrismaClient, StoreProvider, TransactionClient } from "./types.js";
import { attachSessionPool } from "./sessions.js";

/** Short names used across the control plane: the client and a transaction's client. */
export type Db = PrismaClient;
/** The client inside `db.$transaction(async (tx) => ...)`. */
export type Tx = TransactionClient;
export type { PrismaClient, StoreProvider, TransactionClient };

/** An open database. */
export interface Store {
  /** Prisma client; same API on both databases (see types.ts for the common subset). */
  prisma: PrismaClient;
  provider: StoreProvider;
  /** What the start-up migration did (null when `migrate: false`). */
  migration: MigrateResult | null;
  /** Disconnects the client and closes its pool / file. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions extends MigrateOptions {
  /** Apply pending migrations before opening (default true). */
  migrate?: boolean;
}

/**
 * Opens the store named by `databaseUrl` (default: the DATABASE_URL environment
 * variable; unset → SQLite file ./.agentgate/agentgate.db, folder created).
 * `file:<path>` → SQLite; `postgres://` / `postgresql://` → PostgreSQL, tables in
 * `?schema=` (default public).
 */
export async function openStore(databaseUrl: string | undefined = process.env.DATABASE_URL, options: OpenStoreOptions = {}): Promise<Store> {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.provider === "sqlite" && target.file !== ":memory:") mkdirSync(path.dirname(target.file), { recursive: true });
  const migration = options.migrate === false ? null : await migrate(target, options);
  const prisma = await createClient(target);
  let closed: Promise<void> | undefined;
  return {
    prisma,
    provider: target.provider,
    migration,
    close: () => (closed ??= prisma.$disconnect()),
  };
}

/**
 * Builds the generated client of the target's provider. Each client is imported on
 * demand so a SQLite deployment never loads pg and a PostgreSQL one never loads the
 * native better-sqlite3 module.
 */
async function createClient(target: DatabaseTarget): Promise<PrismaClient> {
  if (target.provider === "sqlite") {
    const [{ PrismaClient }, { PrismaBetterSQLite3 }] = await Promise.all([
      import("../../prisma/sqlite/generated/client.js"),
      import("@prisma/adapter-better-sqlite3"),
    ]);
    return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${target.file}` }) });
  }
  const [{ PrismaClient }, { PrismaPg }, { default: pg }] = await Promise.all([
    import("../../prisma/postgres/generated/client.js"),
    import("@prisma/adapter-pg"),
    import("pg"),
  ]);
  // Same models.prisma, so the same runtime API; only the static types differ (types.ts).
  const client = new PrismaClient({ adapter: new PrismaPg(target.poolConfig, { schema: target.schema }) }) as unknown as PrismaClient;
  // Session batches bypass Prisma (sessions.ts) through a small pool of their own, connected
  // on first use and ended with the client.
  const pool = new pg.Pool({ ...target.poolConfig, max: 4 });
  pool.on("error", () => undefined); // an idle client's lost connection: the next query reconnects
  attachSessionPool(client, pool);
  const disconnect = client.$disconnect.bind(client);
  return Object.assign(client, {
    $disconnect: async () => {
      await disconnect();
      await pool.end();
    },
  });
}
