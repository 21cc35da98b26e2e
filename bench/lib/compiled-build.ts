/**
 * The bench measures what production runs: the compiled build (`npm run build`, plain node, no
 * tsx loader). It builds into a temp folder inside the repository (`.scratch/`, git-ignored) so
 * the compiled code resolves node_modules as dist/ does, and removes it at the end.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../demo/service-process.js";

export interface CompiledBuild {
  readonly dir: string;
  remove(): void;
}

/** Runs `scripts/build.mjs` (tsc, type-checked) into a fresh folder; throws with tsc's output on failure. */
export function buildForBench(): CompiledBuild {
  mkdirSync(join(REPO_ROOT, ".scratch"), { recursive: true });
  const dir = mkdtempSync(join(REPO_ROOT, ".scratch", "bench-build-"));
  try {
    execFileSync(process.execPath, ["scripts/build.mjs", "--out-dir", dir], { cwd: REPO_ROOT, stdio: "pipe" });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`npm run build failed: ${String(e.stdout ?? "")}${String(e.stderr ?? "")}`.slice(0, 4000), { cause: err });
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
