/**
 * `npm run bench`: runs every `bench/*.bench.ts` in sequence, each in its own Node process
 * (so one bench's heap, JIT state and leftover sockets cannot colour the next), each printing
 * its own table. A failing bench is reported and the others still run; the exit code is 1
 * if any failed.
 *
 *   npm run bench                          # all benches, full length
 *   npm run bench -- --quick               # all benches, smoke length
 *   npm run bench -- --bench proxy --duration 20
 *
 * `--bench NAME` (repeatable) selects benches whose file name contains NAME; every other
 * argument is passed to each bench. `--quick` and `--duration N` also set BENCH_SECONDS
 * (2 or N) for benches that read their length from the environment.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** Splits the runner's own `--bench NAME` options from the arguments forwarded to benches. */
function splitArgs(argv: readonly string[]): { filters: string[]; forwarded: string[] } {
  const filters: string[] = [];
  const forwarded: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--bench" && argv[i + 1] !== undefined) filters.push(argv[++i]!);
    else forwarded.push(argv[i]!);
  }
  return { filters, forwarded };
}

/** BENCH_SECONDS for benches configured through the environment (an explicit value wins). */
function benchSeconds(forwarded: readonly string[]): string | undefined {
  if (process.env["BENCH_SECONDS"]) return process.env["BENCH_SECONDS"];
  const at = forwarded.indexOf("--duration");
  if (at >= 0 && forwarded[at + 1] !== undefined) return forwarded[at + 1];
  return forwarded.includes("--quick") ? "2" : undefined;
}

function runOne(file: string, args: readonly string[], seconds: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
      stdio: "inherit",
      env: { ...process.env, ...(seconds ? { BENCH_SECONDS: seconds } : {}) },
    });
    child.once("error", () => resolve(1));
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<void> {
  const { filters, forwarded } = splitArgs(process.argv.slice(2));
  const files = readdirSync(HERE)
    .filter((f) => f.endsWith(".bench.ts") && (filters.length === 0 || filters.some((n) => f.includes(n))))
    .sort();
  if (files.length === 0) throw new Error(`no bench/*.bench.ts matches ${filters.join(", ")}`);
  const seconds = benchSeconds(forwarded);
  const summary: string[] = [];
  for (const file of files) {
    console.log(`\n==== ${file} ====\n`);
    const started = Date.now();
    const code = await runOne(join(HERE, file), forwarded, seconds);
    summary.push(`${file}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  console.log(`\n==== summary ====\n${summary.join("\n")}`);
  if (summary.some((s) => s.includes("FAILED"))) process.exitCode = 1;
}

await main();
