import { execFile, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import Database from "better-sqlite3";
import pg from "pg";
import { createTestDatabase, withTestDatabases, type TestDatabaseContext } from "../../test/helpers/databases.js";
import { parseDatabaseUrl } from "./database-url.js";
import { migrate, MigrationError } from "./migrate.js";
import { defaultMigrationsDir, readMigrations } from "./migrations.js";

const ROOT = path.resolve(defaultMigrationsDir("sqlite"), "../../..");
const TABLES = [
  "AdminAudit", "ApiToken", "ApprovalNotification", "ApprovalRequest", "ChainAnchor", "Connection", "Identity", "IdentityProvider", "MaskingProfile",
  "Policy", "ProxyStatus", "Role", "RoleBinding", "Session", "SnapshotVersion", "_prisma_migrations",
];

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  applied_steps_count: number | bigint;
}

/** Runs SQL on the test database directly (no Prisma), returning rows. */
async function query<T>(url: string, sql: string): Promise<T[]> {
  const target = parseDatabaseUrl(url);
  if (target.provider === "sqlite") {
    const db = new Database(target.file, { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client(target.poolConfig);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const tableNames = (ctx: TestDatabaseContext) =>
  ctx.provider === "sqlite"
    ? query<{ name: string }>(ctx.url, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    : query<{ name: string }>(ctx.url, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()");

/** A private copy of the committed migrations that a test may change. */
function copyMigrations(provider: "sqlite" | "postgresql"): string {
  const dir = mkdtempSync(path.join(tmpdir(), "agentgate-migrations-"));
  cpSync(defaultMigrationsDir(provider), dir, { recursive: true });
  return dir;
}

/** `prisma migrate status` through the offline CLI wrapper; returns its exit code and output. */
function prismaStatus(ctx: TestDatabaseContext) {
  const folder = ctx.provider === "sqlite" ? "sqlite" : "postgres";
  const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
  const args = [cli, "migrate", "status", "--config", `prisma/${folder}/prisma.config.ts`];
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: ctx.url, CHECKPOINT_DISABLE: "1" },
    encoding: "utf8",
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

withTestDatabases((ctx) => {
  test("applies the committed migrations to an empty database, in Prisma's history format", async () => {
    const result = await migrate(ctx.url);
    const files = readMigrations(defaultMigrationsDir(ctx.provider), ctx.provider);
    expect(result.applied).toEqual(files.map((f) => f.name));
    expect(result.unknown).toEqual([]);
    expect((await tableNames(ctx)).map((t) => t.name).sort()).toEqual(TABLES);

    const history = await query<HistoryRow>(ctx.url, 'SELECT * FROM "_prisma_migrations" ORDER BY migration_name');
    expect(history.map((h) => [h.migration_name, h.checksum, Number(h.applied_steps_count)])).toEqual(
      files.map((f) => [f.name, f.checksum, 1]),
    );
    expect(history.every((h) => h.finished_at != null)).toBe(true);
    // The seeded single row of SnapshotVersion.
    expect(await query<{ id: number }>(ctx.url, 'SELECT id FROM "SnapshotVersion"')).toHaveLength(1);
  });

  test("the Prisma CLI agrees: `prisma migrate status` reports the database up to date", () => {
    const { status, output } = prismaStatus(ctx);
    expect(output).toContain("Database schema is up to date!");
    expect(status).toBe(0);
  });

  test("applying again is a no-op", async () => {
    const before = await query<HistoryRow>(ctx.url, 'SELECT * FROM "_prisma_migrations"');
    const result = await migrate(ctx.url);
    expect(result.applied).toEqual([]);
    expect(await query<HistoryRow>(ctx.url, 'SELECT * FROM "_prisma_migrations"')).toEqual(before);
  });

  test("a new migration is applied; a changed checksum of an applied one is refused", async () => {
    const dir = copyMigrations(ctx.provider);
    try {
      mkdirSync(path.join(dir, "29990101000000_add_note"));
      writeFileSync(path.join(dir, "29990101000000_add_note", "migration.sql"), 'ALTER TABLE "ProxyStatus" ADD COLUMN "note" TEXT;\n');
      expect((await migrate(ctx.url, { migrationsDir: dir })).applied).toEqual(["29990101000000_add_note"]);

      appendFileSync(path.join(dir, "29990101000000_add_note", "migration.sql"), "-- edited after being applied\n");
      const attempt = migrate(ctx.url, { migrationsDir: dir });
      await expect(attempt).rejects.toThrow(MigrationError);
      await expect(attempt).rejects.toThrow(/29990101000000_add_note was modified after it was applied/);

      // The committed folder alone does not know 29990101000000_add_note: reported, not fatal.
      expect((await migrate(ctx.url)).unknown).toEqual(["29990101000000_add_note"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a failing migration is rolled back entirely and not recorded", async () => {
    const dir = copyMigrations(ctx.provider);
    try {
      mkdirSync(path.join(dir, "29990102000000_broken"));
      writeFileSync(
        path.join(dir, "29990102000000_broken", "migration.sql"),
        'CREATE TABLE "Half" ("id" TEXT PRIMARY KEY);\nINSERT INTO "NoSuchTable" VALUES (1);\n',
      );
      await expect(migrate(ctx.url, { migrationsDir: dir })).rejects.toThrow(/29990102000000_broken failed \(rolled back\)/);
      expect((await tableNames(ctx)).map((t) => t.name)).not.toContain("Half");
      const names = await query<HistoryRow>(ctx.url, 'SELECT migration_name FROM "_prisma_migrations"');
      expect(names.map((n) => n.migration_name)).not.toContain("29990102000000_broken");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("refuses another provider's migrations folder", async () => {
    const other = ctx.provider === "sqlite" ? "postgresql" : "sqlite";
    await expect(migrate(ctx.url, { migrationsDir: defaultMigrationsDir(other) })).rejects.toThrow(/holds .* migrations, not/);
  });
});

withTestDatabases((ctx) => {
  test("two migrators started together on one empty database apply each migration once", async () => {
    const [a, b] = await Promise.all([migrate(ctx.url), migrate(ctx.url)]);
    const files = readMigrations(defaultMigrationsDir(ctx.provider), ctx.provider).map((f) => f.name);
    expect([...a.applied, ...b.applied].sort()).toEqual(files);
    const history = await query<HistoryRow>(ctx.url, 'SELECT migration_name FROM "_prisma_migrations"');
    expect(history.map((h) => h.migration_name).sort()).toEqual(files);
  });

  test("…also from separate processes (real concurrency on one file / one schema)", async () => {
    // A fresh database of the same provider, migrated by 3 processes at once.
    const db = await createTestDatabase(ctx.provider);
    try {
      const script = `import { migrate } from "./control-plane/store/migrate.ts";
        const r = await migrate(process.env.DATABASE_URL); console.log(JSON.stringify(r.applied));`;
      const runs = await Promise.all(
        [1, 2, 3].map(
          () =>
            new Promise<string[]>((resolve, reject) => {
              execFile(
                process.execPath,
                ["--import", "tsx", "--input-type=module", "-e", script],
                { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url } },
                (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as string[])),
              );
            }),
        ),
      );
      const files = readMigrations(defaultMigrationsDir(ctx.provider), ctx.provider).map((f) => f.name);
      expect(runs.flat().sort()).toEqual(files);
      const history = await query<HistoryRow>(db.url, 'SELECT migration_name FROM "_prisma_migrations"');
      expect(history).toHaveLength(files.length);
    } finally {
      await db.drop();
    }
  });
});
