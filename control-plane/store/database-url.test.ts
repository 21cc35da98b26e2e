import path from "node:path";
import { DEFAULT_SQLITE_FILE, parseDatabaseUrl, redactUrl } from "./database-url.js";

describe("parseDatabaseUrl", () => {
  test("unset or empty → the default SQLite file", () => {
    expect(parseDatabaseUrl(undefined)).toEqual({ provider: "sqlite", file: path.resolve(DEFAULT_SQLITE_FILE) });
    expect(parseDatabaseUrl("  ")).toEqual({ provider: "sqlite", file: path.resolve(DEFAULT_SQLITE_FILE) });
  });

  test("file: URLs → SQLite, relative to the cwd, Prisma query parameters ignored", () => {
    expect(parseDatabaseUrl("file:./data/a.db?connection_limit=1")).toEqual({ provider: "sqlite", file: path.resolve("data/a.db") });
    expect(parseDatabaseUrl("file:/tmp/x.db")).toEqual({ provider: "sqlite", file: "/tmp/x.db" });
    expect(parseDatabaseUrl("file:///tmp/y%20z.db")).toEqual({ provider: "sqlite", file: "/tmp/y z.db" });
  });

  test("postgres URLs → separate pool fields, schema pinned through search_path", () => {
    const target = parseDatabaseUrl("postgresql://u%40x:p%3Aw@db.example:6543/app?schema=tenant_1&sslmode=require");
    expect(target).toEqual({
      provider: "postgresql",
      schema: "tenant_1",
      poolConfig: {
        host: "db.example",
        port: 6543,
        user: "u@x",
        password: "p:w",
        database: "app",
        options: '-c search_path="tenant_1"',
        ssl: true,
      },
    });
    expect(parseDatabaseUrl("postgres://127.0.0.1/test")).toMatchObject({ schema: "public", poolConfig: { port: 5432 } });
  });

  test("rejects other schemes and unsafe schema names", () => {
    expect(() => parseDatabaseUrl("mysql://root:secret@h/db")).toThrow(/Unsupported DATABASE_URL \(mysql:\/\/root:\*\*\*@h\/db\)/);
    expect(() => parseDatabaseUrl('postgresql://h/db?schema=a"b')).toThrow(/Invalid PostgreSQL schema/);
  });

  test("redactUrl hides the password only", () => {
    expect(redactUrl("postgresql://me:secret@h:5432/db")).toBe("postgresql://me:***@h:5432/db");
    expect(redactUrl("postgresql://me@h/db")).toBe("postgresql://me@h/db");
  });
});
