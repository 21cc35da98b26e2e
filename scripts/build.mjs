#!/usr/bin/env node
// `npm run build`: compile the two planes to dist/ with tsc (type-checked, no tsx at run
// time), then copy what the compiled code reads from disk next to it, at the same
// relative paths: GraphQL schema files, the console's page bundle, Prisma migrations.
import { cpSync, readdirSync, rmSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "../control-plane/console/web/build.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
// `--out-dir <dir>` builds elsewhere (the build test builds into a temp folder).
const outFlag = process.argv.indexOf("--out-dir");
const dist = outFlag > 0 ? path.resolve(process.argv[outFlag + 1]) : path.join(root, "dist");
const compiledSources = /\.(ts|md)$/;

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", dist], { cwd: root, stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);

// The console's pages (React + urql, bundled by Vite into control-plane/console/build/,
// copied below like any other asset); rebuilt only when their sources changed.
await buildConsole();

/** Copies every file under `dir` that tsc does not compile (and that is not a test fixture). */
function copyAssets(dir) {
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) {
      // (console/web holds the pages' sources: only their bundle, console/build, ships)
      if (name !== "node_modules" && name !== "generated" && rel !== path.join("control-plane", "console", "web")) copyAssets(rel);
    } else if (!compiledSources.test(name) && !name.includes(".fixture.")) {
      cpSync(path.join(root, rel), path.join(dist, rel));
    }
  }
}
for (const dir of ["common", "control-plane", "data-plane"]) copyAssets(dir);
for (const provider of ["sqlite", "postgres"]) {
  cpSync(path.join(root, "prisma", provider, "migrations"), path.join(dist, "prisma", provider, "migrations"), { recursive: true });
}
console.log(`built ${path.relative(process.cwd(), dist) || "."}/ (control-plane/main.js, data-plane/main.js, control-plane/cli/main.js)`);
