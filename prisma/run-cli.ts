/**
 * Runs the Prisma CLI offline on one of the two schema folders:
 *
 *   npm run prisma:sqlite -- migrate status
 *   DATABASE_URL=postgresql://... npm run prisma:postgres -- migrate deploy
 *
 * Adds `--config prisma/<folder>/prisma.config.ts` (wasm schema engine + driver
 * adapter), disables the CLI's network version check, and supplies a placeholder
 * DATABASE_URL of the right kind when none fits (with `env("DATABASE_URL")` unresolved
 * the CLI tries to download a query engine).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parseDatabaseUrl } from "../control-plane/store/database-url.js";

/** Schema folder → placeholder URL used when DATABASE_URL is unset or of the other kind. */
export const PLACEHOLDER_URLS = {
  sqlite: "file:./.agentgate/agentgate.db",
  postgres: "postgresql://postgres@127.0.0.1:5432/postgres",
} as const;

/** The schema folders. */
export type SchemaFolder = keyof typeof PLACEHOLDER_URLS;

const root = fileURLToPath(new URL("..", import.meta.url));
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");

/** DATABASE_URL if it names the folder's provider, else the placeholder. */
export function urlFor(folder: SchemaFolder, url = process.env.DATABASE_URL): string {
  const wanted = folder === "sqlite" ? "sqlite" : "postgresql";
  return url && parseDatabaseUrl(url).provider === wanted ? url : PLACEHOLDER_URLS[folder];
}

/** Runs `prisma <args> --config prisma/<folder>/prisma.config.ts`; returns its exit status and output. */
export function runPrisma(
  folder: SchemaFolder,
  args: readonly string[],
  options: { url?: string; capture?: boolean } = {},
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [prismaCli, ...args, "--config", `prisma/${folder}/prisma.config.ts`], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: options.url ?? urlFor(folder), CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    stdio: options.capture ? ["ignore", "pipe", "pipe"] : "inherit",
    encoding: "utf8",
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [folder, ...args] = process.argv.slice(2);
  if (folder !== "sqlite" && folder !== "postgres") {
    console.error("usage: tsx prisma/run-cli.ts <sqlite|postgres> <prisma arguments...>");
    process.exit(2);
  }
  process.exit(runPrisma(folder, args).status);
}
