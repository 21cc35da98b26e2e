/**
 * Prisma CLI config for the SQLite schema folder. Run the CLI with
 * `--config prisma/sqlite/prisma.config.ts` (see prisma/README.md). The JS engine +
 * driver adapter make migrate/diff run on the wasm schema engine shipped in the
 * `prisma` package, so nothing is downloaded.
 */
import { defineConfig } from "prisma/config";
import { cliAdapter } from "../cli-adapters.js";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  adapter: cliAdapter("sqlite"),
  schema: ".",
  migrations: { path: "./migrations" },
});
