/**
 * Driver adapters for the Prisma CLI's JavaScript (wasm) schema engine, used only by
 * prisma/sqlite/prisma.config.ts and prisma/postgres/prisma.config.ts. They work around
 * two engine/adapter mismatches of Prisma 6.19.3 (DESIGN.md §9, prisma/README.md):
 *
 * - SQLite: the engine replays a multi-statement migration through `executeRaw`, which
 *   better-sqlite3 rejects ("contains more than one statement"): fall back to
 *   `executeScript` (sqlite3_exec) for such statements.
 * - PostgreSQL: adapter-pg cannot map catalog column types (`name`, `"char"`, `oid[]`
 *   ...) that introspection reads: report them as text. The shadow database's pool is
 *   built from separate fields (see database-url.ts), since a connectionString would
 *   override the shadow `database`.
 *
 * The application's runtime client does not use these (it never introspects nor runs
 * migration scripts through Prisma).
 */
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { randomUUID } from "node:crypto";
import { parseDatabaseUrl } from "../control-plane/store/database-url.js";

type SqliteAdapter = Awaited<ReturnType<PrismaBetterSQLite3["connect"]>>;

/** SQLite factory whose connections run multi-statement `executeRaw` as a script. */
class CliSqliteFactory extends PrismaBetterSQLite3 {
  override async connect(): Promise<SqliteAdapter> {
    return withScriptFallback(await super.connect());
  }
  override async connectToShadowDb(): Promise<SqliteAdapter> {
    return withScriptFallback(await super.connectToShadowDb());
  }
}

function withScriptFallback(adapter: SqliteAdapter): SqliteAdapter {
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    try {
      return await executeRaw(query);
    } catch (error) {
      if (query.args.length > 0 || !/more than one statement/i.test(String((error as Error)?.message ?? error))) throw error;
      await adapter.executeScript(query.sql);
      return 0;
    }
  };
  return adapter;
}

/** PostgreSQL type OIDs adapter-pg 6.19.3 maps; every other built-in is sent as text. */
const PG_TEXT_OID = 25;
const PG_TEXT_ARRAY_OID = 1009;
const PG_KNOWN_OIDS = new Set([
  16, 17, 20, 21, 23, 25, 26, 114, 650, 700, 701, 790, 869, 1042, 1043, 1082, 1083, 1114, 1184, 1266, 1560, 1562,
  1700, 2950, 3802, 142, 143, 651, 1000, 1001, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1028, 1040, 1041,
  1115, 1182, 1183, 1185, 1231, 1270, 1561, 1563, 199, 2951, 3807, 791,
]);
/** Array types among the unknown built-ins (name[], "char"[], aclitem[], ...) → text[]. */
const PG_ARRAY_OIDS = new Set([1002, 1003, 1006, 1008, 1010, 1011, 1012, 1013, 1017, 1034, 1263, 2201, 2207, 2210, 2211, 4097]);
const FIRST_USER_OID = 10_000;

function patchFields(result: unknown): void {
  const results = Array.isArray(result) ? result : [result];
  for (const r of results as Array<{ fields?: Array<{ dataTypeID: number }> }>) {
    for (const field of r?.fields ?? []) {
      const oid = field.dataTypeID;
      if (oid < FIRST_USER_OID && !PG_KNOWN_OIDS.has(oid)) field.dataTypeID = PG_ARRAY_OIDS.has(oid) ? PG_TEXT_ARRAY_OID : PG_TEXT_OID;
    }
  }
}

/** pg Client that relabels unknown catalog column types once a query has been parsed. */
class CatalogTolerantClient extends pg.Client {
  // pg's overloads make a faithful override signature unwieldy. Both call forms occur:
  // promise (adapter transactions) and callback (Pool.query).
  override query(...args: unknown[]): never {
    const last = args.at(-1);
    if (typeof last === "function") {
      args[args.length - 1] = (err: unknown, res: unknown) => {
        if (!err) patchFields(res);
        return (last as (e: unknown, r: unknown) => unknown)(err, res);
      };
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) return result.then((r) => (patchFields(r), r)) as never;
    return result as never;
  }
}

type PgAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;

/**
 * PostgreSQL factory for the CLI. Its shadow database (a scratch database the engine
 * replays the migrations into for `migrate diff --from-migrations` / `migrate dev`) is
 * made from separate pool fields (a connectionString would override `database`) and
 * gets the `?schema=` schema created first (search_path points there; adapter-pg's own
 * version leaves it missing, so replaying the first migration fails).
 */
class CliPgFactory extends PrismaPg {
  constructor(
    private readonly poolConfig: pg.PoolConfig,
    private readonly schemaName: string,
  ) {
    super(poolConfig, { schema: schemaName });
  }
  override async connectToShadowDb(): Promise<PgAdapter> {
    const admin = await this.connect();
    const database = `prisma_migrate_shadow_db_${randomUUID()}`;
    await admin.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new PrismaPg({ ...this.poolConfig, database }, { schema: this.schemaName }).connect();
    await shadow.executeScript(`CREATE SCHEMA IF NOT EXISTS "${this.schemaName}"`);
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await admin.executeScript(`DROP DATABASE "${database}"`);
      await admin.dispose();
    };
    return shadow;
  }
}

/**
 * Adapter factory for the Prisma CLI, chosen from DATABASE_URL like the runtime store.
 * `expected` guards against running the SQLite config on a PostgreSQL URL and back.
 */
export function cliAdapter(expected: "sqlite" | "postgresql"): () => Promise<CliSqliteFactory | CliPgFactory> {
  return async () => {
    const target = parseDatabaseUrl(process.env.DATABASE_URL);
    if (target.provider !== expected) {
      throw new Error(`DATABASE_URL is a ${target.provider} URL but this is the ${expected} Prisma config`);
    }
    if (target.provider === "sqlite") return new CliSqliteFactory({ url: `file:${target.file}` });
    // allowExitOnIdle: the CLI does not always dispose the adapter, and idle pooled
    // connections would otherwise keep the process alive for idleTimeoutMillis (10 s).
    const poolConfig = { ...target.poolConfig, Client: CatalogTolerantClient, allowExitOnIdle: true, idleTimeoutMillis: 100 };
    return new CliPgFactory(poolConfig, target.schema);
  };
}
