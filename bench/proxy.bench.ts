/**
 * Proxy overhead bench: what agentgate adds to a call, against a direct call to the same
 * upstream, a bare Node relay (undici `pool.stream`, the floor for a Node proxy) and nginx as
 * a plain reverse proxy, all measured in one run. The proxy runs compiled (`npm run build`,
 * plain node), as in production; `--source` runs the TypeScript sources through tsx instead.
 *
 *   npx tsx bench/proxy.bench.ts               # full run (~4.5 min + wait for an idle machine)
 *   npx tsx bench/proxy.bench.ts --quick       # smoke check: 2 s rows, few streamed runs
 *   npx tsx bench/proxy.bench.ts --duration 20 # longer rows
 *   npx tsx bench/proxy.bench.ts --profile     # CPU profile of the proxy instead (10 s, 64 conns)
 *   npx tsx bench/proxy.bench.ts --profile --connections 16 --read-commit group
 *
 * Other options: --max-wait S (wait at most S seconds for load1 < 1.5, default 90),
 * --no-pin (no CPU pinning), --node-load (Node load generator even if wrk is installed),
 * --only static,langgraph,stream,cores (a subset of the scenarios), --source,
 * --read-commit strict|group (the proxy's AGENTGATE_READ_COMMIT; the README shows both),
 * --baseline DIR (also measure a proxy run from another build, target `agentgate-base`: before
 * and after a change in the same rows; build it with `node scripts/build.mjs --out-dir DIR`),
 * --ab N [--ab-conns 16] (with --baseline: instead of the scenarios, N rounds of relay /
 * baseline / proxy taking turns in --duration-s rows; median CPU per request, see lib/ab-rounds.ts).
 *
 * Scenarios (see bench/README.md for what each number means):
 *  1. small JSON `POST /assistants/search`, 1/16/64 connections, against a static node:http
 *     upstream (the proxy's own cost) and against the real LangGraph server;
 *  2. `POST /runs/stream` on `echo`: time to first SSE event and total time, 1 and 16 clients;
 *  3. every core: the static small-JSON load against nginx `worker_processes auto`, unpinned.
 */
import { parseArgs } from "node:util";
import { startBenchSystems, type BenchSystems, type Target } from "./lib/bench-stack.js";
import type { LoadResult, StreamResult, StreamSpec } from "./lib/load.js";
import { cpuMeter } from "./lib/cpu-time.js";
import { chooseLoader, type HttpLoader } from "./lib/loader.js";
import { codeVersion, load1, machineInfo, waitForQuiet, type MachineInfo } from "./lib/machine.js";
import { choosePinning, hasCommand, pin, runWorker, type Pinning } from "./lib/procs.js";
import { profileProxy } from "./lib/profile-run.js";
import { buildForBench, type CompiledBuild } from "./lib/compiled-build.js";
import { loadTable, streamTable, type Row } from "./lib/report.js";
import { abRounds } from "./lib/ab-rounds.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    duration: { type: "string" },
    "max-wait": { type: "string" },
    "no-pin": { type: "boolean", default: false },
    "node-load": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    connections: { type: "string", default: "64" },
    baseline: { type: "string" },
    ab: { type: "string" },
    "ab-conns": { type: "string", default: "1,16,64" },
    only: { type: "string" },
    source: { type: "boolean", default: false },
    "read-commit": { type: "string", default: "strict" },
  },
  strict: true,
});

const QUICK = args.quick === true;
const DURATION_S = Number(args.duration ?? (QUICK ? 2 : 10));
const WARMUP_S = 1;
const MAX_WAIT_S = Number(args["max-wait"] ?? (QUICK ? 0 : 90));
const LOAD_THRESHOLD = 1.5;
const CONCURRENCY = [1, 16, 64];
const STREAM_PLAN = QUICK ? [{ clients: 1, runs: 8 }, { clients: 16, runs: 32 }] : [{ clients: 1, runs: 40 }, { clients: 16, runs: 96 }];
const SCENARIOS = new Set((args.only ?? "static,langgraph,stream,cores").split(","));
if (!Number.isFinite(DURATION_S) || DURATION_S < 1) throw new Error("--duration must be a number of seconds ≥ 1");
// AGENTGATE_READ_COMMIT of the proxy under test: strict (default, every record fdatasynced
// before its answer ends) or group (plain reads answered once written; fsync within 5 ms).
const READ_COMMIT = args["read-commit"];
if (READ_COMMIT !== "strict" && READ_COMMIT !== "group") throw new Error("--read-commit must be strict or group");
const PROXY_ENV = { AGENTGATE_READ_COMMIT: READ_COMMIT };

// The request of scenario 1: what an SDK's `assistants.search({ limit: 10 })` sends.
const SEARCH = { path: "/assistants/search", method: "POST" as const, body: JSON.stringify({ limit: 10, offset: 0 }) };
// Scenario 2: a stateless streamed run of the echo graph.
const STREAM_BODY = JSON.stringify({ assistant_id: "echo", input: { text: "hello" }, stream_mode: ["values"] });

/** Fails early, with the answer, when a target does not answer 200 (misconfiguration, not a slow proxy). */
async function checkTarget(t: Target): Promise<void> {
  const res = await fetch(t.baseUrl + SEARCH.path, { method: "POST", headers: { ...t.headers, "content-type": "application/json" }, body: SEARCH.body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${t.name} ${t.baseUrl}${SEARCH.path} answered ${res.status}: ${text.slice(0, 300)}`);
}

/** The request of scenario 1 against one target. */
function searchSpec(t: Target, connections: number, durationS: number) {
  return {
    url: t.baseUrl + SEARCH.path,
    method: SEARCH.method,
    headers: { ...t.headers, "content-type": "application/json" },
    body: SEARCH.body,
    connections,
    durationS,
  };
}

/** Scenario 1 on one upstream: a warm-up per target, then every concurrency with targets interleaved. */
async function smallJson(targets: readonly Target[], loader: HttpLoader): Promise<Array<Row<LoadResult>>> {
  const spec = searchSpec;
  for (const t of targets) {
    await checkTarget(t);
    await loader.run(spec(t, 16, WARMUP_S)); // JIT, connection pools, token cache
  }
  const rows: Array<Row<LoadResult>> = [];
  for (const c of CONCURRENCY) {
    for (const t of targets) {
      const row: Row<LoadResult> = { target: t.name, concurrency: c, load1: load1(), result: undefined };
      const meter = t.sutPid === undefined ? undefined : cpuMeter(t.sutPid);
      try {
        const cpuBefore = meter?.();
        row.result = await loader.run(spec(t, c, DURATION_S));
        if (meter && cpuBefore !== undefined && row.result.requests > 0) row.result.sutCpuUsPerRequest = ((meter() - cpuBefore) * 1000) / row.result.requests;
      } catch (err) {
        row.note = `failed: ${(err as Error).message.slice(0, 120)}`;
      }
      rows.push(row);
      process.stderr.write(`  ${t.name} c=${c}: ${row.result ? `${row.result.rps.toFixed(0)} req/s, p50 ${row.result.p50.toFixed(2)} ms` : row.note}\n`);
    }
  }
  return rows;
}

/** Scenario 2: streamed runs through each target, each batch in its own client process. */
async function streamed(targets: readonly Target[]): Promise<Array<Row<StreamResult>>> {
  const rows: Array<Row<StreamResult>> = [];
  for (const { clients, runs } of STREAM_PLAN) {
    for (const t of targets) {
      const spec: StreamSpec = {
        url: `${t.baseUrl}/runs/stream`,
        headers: { ...t.headers, "content-type": "application/json", accept: "text/event-stream" },
        body: STREAM_BODY,
        runs,
        concurrency: clients,
        warmupRuns: Math.min(clients, 4),
      };
      const row: Row<StreamResult> = { target: t.name, concurrency: clients, load1: load1(), result: undefined };
      try {
        row.result = await runWorker<StreamSpec, StreamResult>("sse-worker.ts", spec, 180_000);
      } catch (err) {
        row.note = `failed: ${(err as Error).message.slice(0, 120)}`;
      }
      rows.push(row);
      process.stderr.write(`  stream ${t.name} c=${clients}: ${row.result ? `TTFE p50 ${row.result.ttfe.p50.toFixed(1)} ms, total p50 ${row.result.total.p50.toFixed(0)} ms` : row.note}\n`);
    }
  }
  return rows;
}

function printHeader(m: MachineInfo, loader: HttpLoader, pinning: Pinning | undefined, nginx: boolean, build: CompiledBuild | undefined): void {
  console.log("# agentgate proxy bench");
  console.log(`machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB} GiB, ${m.platform}, node ${m.node}`);
  console.log(`code: ${codeVersion()}`);
  console.log(`load average at start: ${m.loadAtStart.map((l) => l.toFixed(2)).join(" / ")} (1/5/15 min)`);
  console.log(loader.note);
  console.log(pinning ? `CPU pinning: proxy, bare relay and nginx on CPU ${pinning.sut}; load generator, upstreams, control plane on CPU ${pinning.rest}; every-core rows unpinned` : "CPU pinning: off");
  console.log(nginx ? "nginx: 1 worker (every-core rows: worker_processes auto), keep-alive upstream (128), proxy_buffering off, access_log off" : "nginx: not installed, nginx rows skipped (apt-get install -y nginx)");
  console.log("relay: bare Node relay (node:http + undici Pool.stream, plain node, bench/lib/bare-relay.mjs)");
  console.log(build ? `agentgate: compiled build (npm run build → ${build.dir}), plain node` : "agentgate: TypeScript sources through tsx (--source)");
  console.log(`agentgate read commit: ${READ_COMMIT} (AGENTGATE_READ_COMMIT)`);
  console.log(`rows: ${DURATION_S} s each${QUICK ? " (--quick: smoke check only, do not quote)" : ""}`);
}

async function main(): Promise<void> {
  const machine = machineInfo(); // before pinning: it would hide the other CPUs
  const pinning = choosePinning(!args["no-pin"]);
  // Everything the bench starts inherits this; the proxy and nginx are moved to the SUT core.
  if (pinning) pin(process.pid, pinning.rest);
  const loader = chooseLoader(args["node-load"] === true);
  const hasNginx = hasCommand("nginx");
  // What production runs: the compiled build (built before waiting for a quiet machine).
  const build = args.source ? undefined : buildForBench();
  try {
    printHeader(machine, loader, pinning, hasNginx, build);
    await measure(loader, pinning, hasNginx, build);
  } finally {
    build?.remove();
  }
}

async function measure(loader: HttpLoader, pinning: Pinning | undefined, hasNginx: boolean, build: CompiledBuild | undefined): Promise<void> {

  const quiet = await waitForQuiet(LOAD_THRESHOLD, MAX_WAIT_S * 1000, (l) => process.stderr.write(`waiting for load1 < ${LOAD_THRESHOLD} (now ${l.toFixed(2)})\n`));
  console.log(
    quiet.quiet
      ? `load1 ${quiet.load.toFixed(2)} < ${LOAD_THRESHOLD} after ${(quiet.waitedMs / 1000).toFixed(0)} s wait`
      : `WARNING: load1 still ${quiet.load.toFixed(2)} ≥ ${LOAD_THRESHOLD} after ${(quiet.waitedMs / 1000).toFixed(0)} s: the machine is busy, numbers are noisy (compare ratios, not absolutes)`,
  );

  if (args.profile) {
    await profileProxy({ env: PROXY_ENV, loader, pinning, durationS: Number(args.duration ?? 10), connections: Number(args.connections), request: SEARCH, buildDir: build?.dir });
    return;
  }

  const started = Date.now();
  let systems: BenchSystems | undefined;
  try {
    systems = await startBenchSystems({ env: PROXY_ENV, withNginx: hasNginx, pinning, withCores: SCENARIOS.has("cores"), ...(build ? { buildDir: build.dir } : {}), ...(args.baseline ? { baselineBuildDir: args.baseline } : {}) });
    if (args.ab) {
      for (const t of systems.static) await checkTarget(t);
      await abRounds({ targets: systems.static, loader, spec: searchSpec, rounds: Number(args.ab), durationS: DURATION_S, concurrency: args["ab-conns"].split(",").map(Number) });
      return;
    }
    if (SCENARIOS.has("static")) {
      process.stderr.write("small JSON, static upstream\n");
      const rows = await smallJson(systems.static, loader);
      console.log(`\n## 1a. Small JSON POST /assistants/search, static node:http upstream (~300 B answer): the proxy's own cost (${loader.tool}, ${DURATION_S} s per row)\n`);
      console.log(loadTable(rows));
    }
    if (SCENARIOS.has("langgraph")) {
      process.stderr.write("small JSON, LangGraph upstream\n");
      const rows = await smallJson(systems.langgraph, loader);
      console.log(`\n## 1b. Small JSON POST /assistants/search, real LangGraph dev server (${loader.tool}, ${DURATION_S} s per row)\n`);
      console.log(loadTable(rows));
    }
    if (SCENARIOS.has("stream")) {
      process.stderr.write("streamed runs\n");
      const rows = await streamed(systems.langgraph);
      console.log(`\n## 2. POST /runs/stream on echo (stream_mode values): time to first SSE event and total time, Node client process\n`);
      console.log(streamTable(rows));
    }
    if (SCENARIOS.has("cores") && systems.cores.length > 1) {
      process.stderr.write("small JSON, static upstream, every core (unpinned)\n");
      const rows = await smallJson(systems.cores, loader);
      console.log(`\n## 3. Every core: small JSON against the static upstream, nothing pinned, nginx with worker_processes auto (${loader.tool}, ${DURATION_S} s per row)\n`);
      console.log(loadTable(rows, { nginx: "nginx-auto" }));
    }
  } finally {
    await systems?.stop();
  }
  console.log(`\nload average at end: ${load1()}; measured in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

await main();
