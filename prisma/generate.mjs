#!/usr/bin/env node
// Generates both Prisma clients (prisma/sqlite/generated, prisma/postgres/generated)
// offline; run by `npm run generate:prisma` and by the package's postinstall.
//
// Why a script rather than two `prisma generate` calls in package.json:
// - DATABASE_URL must be set (to any URL of the right kind; nothing connects): with
//   `env("DATABASE_URL")` unresolved, Prisma 6.19.3's CLI falls back to downloading a
//   query engine library (binaries.prisma.sh), which fails offline.
// - CHECKPOINT_DISABLE stops the CLI's version check call to checkpoint.prisma.io.
// - Setting env inline in an npm script is not portable (Windows cmd), and the two
//   generations run in parallel here (~1.5 s instead of ~3 s).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");

/** @type {Array<[folder: string, placeholderUrl: string]>} */
const targets = [
  ["sqlite", "file:./.agentgate/agentgate.db"],
  ["postgres", "postgresql://localhost:5432/agentgate"],
];

/** @param {[string, string]} target */
function generate([folder, url]) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, "generate", "--config", `prisma/${folder}/prisma.config.ts`], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) {
        const line = output.split("\n").find((l) => l.includes("Generated Prisma Client"));
        console.log(`prisma/${folder}: ${line?.replace(/^\W+/, "") ?? "generated"}`);
        resolve(undefined);
      } else {
        reject(new Error(`prisma generate for prisma/${folder} failed (exit ${code}):\n${output}`));
      }
    });
  });
}

const started = Date.now();
try {
  await Promise.all(targets.map(generate));
  console.log(`Prisma clients generated in ${Date.now() - started} ms`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
