// Builds the console's page bundle when its sources changed since the last build. Used by
// `npm run build` (scripts/build.mjs), `npm start` (demo/start.ts) and the console e2e.
// "Changed" is a hash of every source file under web/ plus Vite's and React's versions,
// stored next to the output: a fresh checkout or an edited page rebuilds, anything else
// costs one read of a dozen small files.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
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

/** Builds the bundle (Vite, production mode). Returns false when it was fresh already (and `force` is not set). */
export async function buildConsole({ force = false } = {}) {
  if (!force && !consoleBuildIsStale()) return false;
  const hash = consoleSourceHash();
  const { build } = await import("vite");
  await build({ configFile: path.join(webDir, "vite.config.mjs"), mode: "production" });
  writeFileSync(stampFile, `${hash}\n`);
  return true;
}

// `node control-plane/console/web/build.mjs [--force]`
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildConsole({ force: process.argv.includes("--force") });
  console.log(built ? `console built into ${path.relative(process.cwd(), consoleBuildDir)}/` : "console build is up to date");
}
