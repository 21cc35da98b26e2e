/**
 * Throw-away databases for tests, on both providers:
 * - PostgreSQL: a fresh schema `agentgate_test_<random>` in the machine's database
 *   (AGENTGATE_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/test), passed
 *   as `?schema=`; the migrator creates it, drop() removes it with everything inside.
 * - SQLite: a file in a new temporary folder; drop() deletes the folder.
 * Nothing is migrated here: openStore(url) migrates on first open, like production.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";

/** The two providers, in the order tests run them. */
export const TEST_PROVIDERS = ["postgresql", "sqlite"] as const;
/** A provider name as used by the store ("postgresql" | "sqlite"). */
export type TestProvider = (typeof TEST_PROVIDERS)[number];

/** One throw-away database. */
export interface TestDatabase {
  provider: TestProvider;
  /** DATABASE_URL for openStore / the control plane. */
  url: string;
  /** Removes the database (PostgreSQL schema or SQLite folder). Idempotent. */
  drop(): Promise<void>;
}

/** Base URL of the test PostgreSQL (without ?schema=). */
export const TEST_PG_URL = process.env.AGENTGATE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

/** Creates an empty database for `provider`. */
export async function createTestDatabase(provider: TestProvider): Promise<TestDatabase> {
  return provider === "postgresql" ? createPostgresSchema() : createSqliteFile();
}

async function createPostgresSchema(): Promise<TestDatabase> {
  const schema = `agentgate_test_${randomBytes(6).toString("hex")}`;
  const url = new URL(TEST_PG_URL);
  url.searchParams.set("schema", schema);
  let dropped = false;
  return {
    provider: "postgresql",
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

async function createSqliteFile(): Promise<TestDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), "agentgate-test-db-"));
  return {
    provider: "sqlite",
    url: `file:${path.join(dir, "agentgate.db")}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What {@link withTestDatabases} hands to the test body. */
export interface TestDatabaseContext {
  provider: TestProvider;
  /** The current database (available from beforeAll on, inside tests and hooks). */
  readonly db: TestDatabase;
  /** Shorthand for `db.url`. */
  readonly url: string;
}

/**
 * Declares the body once per provider: `describe("<provider>")` with a fresh database
 * created in beforeAll and dropped in afterAll.
 *
 *   withTestDatabases((ctx) => {
 *     test("...", async () => { const store = await openStore(ctx.url); ... });
 *   });
 */
export function withTestDatabases(
  body: (ctx: TestDatabaseContext) => void,
  providers: readonly TestProvider[] = TEST_PROVIDERS,
): void {
  describe.each([...providers])("%s", (provider) => {
    let current: TestDatabase | undefined;
    const ctx: TestDatabaseContext = {
      provider,
      get db() {
        if (!current) throw new Error("The test database exists only from beforeAll on");
        return current;
      },
      get url() {
        return ctx.db.url;
      },
    };
    beforeAll(async () => {
      current = await createTestDatabase(provider);
    });
    afterAll(async () => {
      await current?.drop();
    });
    body(ctx);
  });
}
