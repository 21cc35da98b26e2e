/**
 * `--profile`: runs the proxy with a CPU-sampling preload (./cpu-profiler-preload.mjs, through
 * NODE_OPTIONS, which the stack passes to the proxy process), drives it with the small-JSON load against the static
 * upstream, stops it so V8 writes the profile, and prints where the proxy's CPU time goes.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../demo/service-process.js";
import { startBenchSystems } from "./bench-stack.js";
import { summarizeProfile } from "./cpuprofile.js";
import type { HttpLoader } from "./loader.js";
import type { HttpLoadSpec, LoadResult } from "./load.js";
import type { Pinning } from "./procs.js";
import { renderTable } from "./table.js";

/** The request to drive the proxy with (path relative to the proxy's static connection). */
export interface ProfileRequest {
  path: string;
  method: HttpLoadSpec["method"];
  body: string;
}

export async function profileProxy(opts: {
  loader: HttpLoader;
  pinning: Pinning | undefined;
  durationS: number;
  connections: number;
  request: ProfileRequest;
  /** The compiled build to profile (plain node); undefined = the sources through tsx. */
  buildDir: string | undefined;
  /** Extra proxy environment (e.g. AGENTGATE_READ_COMMIT). */
  env?: Record<string, string>;
}): Promise<void> {
  // Kept after the run (path printed) so the profile can be opened in Chrome DevTools.
  const dir = mkdtempSync(join(tmpdir(), "agentgate-cpuprof-"));
  const preload = `--import ${join(REPO_ROOT, "bench/lib/cpu-profiler-preload.mjs")}`;
  const systems = await startBenchSystems({
    withNginx: false,
    pinning: opts.pinning,
    env: { ...opts.env, NODE_OPTIONS: opts.buildDir ? preload : `--import tsx ${preload}`, BENCH_CPU_PROF_DIR: dir },
    ...(opts.buildDir ? { buildDir: opts.buildDir } : {}),
  });
  let warmup: LoadResult;
  let result: LoadResult;
  try {
    const proxy = systems.static.find((t) => t.name === "agentgate")!;
    const spec = (durationS: number): HttpLoadSpec => ({
      url: proxy.baseUrl + opts.request.path,
      method: opts.request.method,
      headers: { ...proxy.headers, "content-type": "application/json" },
      body: opts.request.body,
      connections: opts.connections,
      durationS,
    });
    warmup = await opts.loader.run(spec(2));
    result = await opts.loader.run(spec(opts.durationS));
  } finally {
    await systems.stop(); // SIGTERM: the proxy exits and V8 writes its profile
  }
  const file = readdirSync(dir).find((f) => f.includes(`.${systems.proxyPid}.`));
  if (!file) throw new Error(`no profile of the proxy (pid ${systems.proxyPid}) in ${dir}`);
  const summary = summarizeProfile(join(dir, file));
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(`\nCPU profile of the proxy: ${opts.connections} conns, ${opts.durationS} s (+2 s warm-up and start-up in the same profile), static upstream, ${result.rps.toFixed(0)} req/s under the profiler (${opts.loader.tool}, errors ${result.errors})`);
  // CPU per request is steadier than req/s on a noisy machine (start-up is included, so it errs high).
  const perRequestUs = (summary.busyMs * 1000) / (warmup.requests + result.requests);
  console.log(`profile wall ${(summary.wallMs / 1000).toFixed(1)} s, busy ${(summary.busyMs / 1000).toFixed(1)} s (${pct(summary.busyMs / summary.wallMs)} of one core), ≈ ${perRequestUs.toFixed(0)} µs of proxy main-thread CPU per request\n`);
  console.log(renderTable(["origin", "self ms", "share of busy"], summary.origins.map((o) => [o.origin, o.ms.toFixed(0), pct(o.share)])));
  console.log();
  console.log(renderTable(["function (top 25 by self time)", "origin", "location", "self ms", "share"], summary.functions.slice(0, 25).map((f) => [f.name, f.origin, f.location, f.ms.toFixed(0), pct(f.share)])));
  console.log();
  console.log(renderTable(["agentgate function (top 20 by inclusive time)", "location", "incl. ms", "share"], summary.inclusive.slice(0, 20).map((f) => [f.name, f.location, f.ms.toFixed(0), pct(f.share)])));
  console.log(`\nprofile kept at ${join(dir, file)}`);
}
