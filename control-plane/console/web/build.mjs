// Builds the console's page bundle when its sources changed since the last build. Used by
// `npm run build` (scripts/build.mjs), `npm start` (demo/start.ts) and the console e2e.
// "Changed" is a hash of every source file under web/ plus Vite's and React's versions,
// stored next to the output: a fresh checkout or an edited page rebuilds, anything else
// costs one read of a dozen small files.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const webDir = fileURLToPath(new URL(".", import.meta.url));
/** Where the bundle goes (gitignored); server.ts serves it. */
export const consoleBuildDir = path.join(webDir, "..", "build");
const stampFile = path.join(consoleBuildDir, ".source-hash");

function sourceFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? sourceFiles(full) : [full];
    });
}

/** A hash of what the bundle is built from. */
export function consoleSourceHash() {
  const hash = createHash("sha256");
  const require = createRequire(import.meta.url);
  for (const pkg of ["vite", "react", "react-dom", "urql"]) hash.update(`${pkg}@${require(`${pkg}/package.json`).version}\n`);
  for (const file of sourceFiles(webDir)) hash.update(`${path.relative(webDir, file)}\n`).update(readFileSync(file));
  return hash.digest("hex");
}

/** True when there is no bundle or it was built from other sources. */
export function consoleBuildIsStale() {
  if (!existsSync(path.join(consoleBuildDir, ".vite", "manifest.json")) || !existsSync(stampFile)) return true;
  return readFileSync(stampFile, "utf8").trim() !== consoleSourceHash();
}

/**
 * Builds the bundle in this process (Vite, production mode) into a fresh folder, then swaps
 * it in: two builds at once (parallel tests, `npm start` beside `npm run build`) never mix
 * their files, and a reader sees the old bundle or the new one.
 */
async function viteBuild() {
  const hash = consoleSourceHash();
  const tmp = `${consoleBuildDir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const old = `${consoleBuildDir}.old-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    const { build } = await import("vite");
    await build({ configFile: path.join(webDir, "vite.config.mjs"), mode: "production", build: { outDir: tmp } });
    writeFileSync(path.join(tmp, ".source-hash"), `${hash}\n`);
    if (existsSync(consoleBuildDir)) renameSync(consoleBuildDir, old);
    try {
      renameSync(tmp, consoleBuildDir);
    } catch (err) {
      // A concurrent build swapped its bundle in first: fine if it is built from the same sources.
      if (consoleBuildIsStale()) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

/**
 * Builds the bundle when stale (or `force`). Returns false when it was fresh already.
 * Vite runs in a child node process: rolldown's native bindings refuse objects from
 * another VM realm (Jest's ESM sandbox), and a child works the same from node, tsx or Jest.
 */
export async function buildConsole({ force = false } = {}) {
  if (!force && !consoleBuildIsStale()) return false;
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--in-process"], { stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code, signal) => (code === 0 ? resolve(undefined) : reject(new Error(`console build failed (${signal ?? `exit ${code}`})`))));
  });
  return true;
}

// `node control-plane/console/web/build.mjs [--force]`
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--in-process")) {
    await viteBuild();
  } else {
    const built = await buildConsole({ force: process.argv.includes("--force") });
    console.log(built ? `console built into ${path.relative(process.cwd(), consoleBuildDir)}/` : "console build is up to date");
  }
}
