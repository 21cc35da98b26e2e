/**
 * Snapshot bench (issue 5): how long a policy change takes to be enforced by 1, 10 and 50
 * proxies, and what a snapshot costs to build, ship and compile at 10, 1,000 and 50,000
 * role bindings.
 *
 *   npx tsx bench/snapshot.bench.ts                 # full (~2–3 min)
 *   npx tsx bench/snapshot.bench.ts --quick         # smoke check (~20 s): 2 processes, small sizes, 5 rounds
 *   npx tsx bench/snapshot.bench.ts --part compile  # or --part propagation
 *   npx tsx bench/snapshot.bench.ts --rounds 40 --large-bindings 10000
 *
 * Part 1, propagation: the real system on PostgreSQL (`startStack`: control plane, LangGraph
 * dev server, dev issuer, proxy processes). Each round is one GraphQL `updatePolicy` that
 * flips a policy between allowing and denying the probe request; timed from just before the
 * mutation until the LAST proxy enforces the new version. "Enforces" is observed as:
 * - applied (processes): the proxy's own "snapshot applied" log line reached the bench
 *   (printed at the swap, before the disk copy is written — enforce first, persist after —
 *   since 501271f; before, after the fsync'd disk copy; stderr pipe latency included). Passive.
 * - /readyz version (processes, demo policy): `/readyz` shows the new version (right after
 *   the swap; a cheap unrecorded request, each proxy polled again 5 ms after each answer).
 * - probe 403/200 (one process only): the first probe request through the proxy answered as
 *   the new policy says (403 after a deny, 200 after an allow). Each probe is a recorded
 *   exchange (spool fsync, shipped to the control plane, stored in PostgreSQL), so probing ten
 *   proxies every few ms overloads a 2-CPU machine and measures the probing: single proxy only.
 * - applied (in-process; 50 processes do not fit on a small machine): `startWatch` clients,
 *   each with its own gRPC channel, `SnapshotStore` (with the disk copy) and
 *   `proxyStateCompiler` — what a proxy runs per snapshot; "applied" = `onApplied`. They share
 *   one event loop, so their compiles run one after another: an upper bound for the compile
 *   part, a lower bound for process and network overheads.
 * With `--large-bindings N` (default 50,000; 0 in --quick) the 10-process "applied" row is
 * repeated (5 rounds) with N more role bindings seeded into the control plane's database.
 *
 * Part 2, compile: for each size and database, a fresh database with a small policy (applied
 * with the policy-file code) plus N bindings (createMany; half group bindings, half identity
 * bindings with their Identity rows); `buildSnapshot` median of 5; then, on the PostgreSQL
 * snapshot, its serialized size and the proxy side (fromBinary, compilePolicy,
 * proxyStateCompiler), medians of 5.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { codeVersion, load1, machineInfo } from "./lib/machine.js";
import { measureBuild, measureProxySide, type BuildResult, type ProxySideResult } from "./lib/snapshot-compile.js";
import {
  type Footprint,
  startInProcessFleet,
  startPropagationSystem,
  type MeasureOptions,
  type Observe,
  type PropagationSystem,
  type RoundsResult,
} from "./lib/snapshot-propagation.js";
import { ms, summarize } from "./lib/stats.js";
import { renderTable } from "./lib/table.js";
import { TEST_PROVIDERS } from "../test/helpers/databases.js";

// Not strict: bench/run.ts forwards every argument (e.g. --duration) to every bench.
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    part: { type: "string" },
    "large-bindings": { type: "string" },
    "huge-bindings": { type: "string" },
    fleet: { type: "string" },
    help: { type: "boolean", default: false },
  },
  strict: false,
});

if (args.help === true) {
  // (Without this, --help ran the whole bench: minutes of 30 proxy processes on a shared machine.)
  console.log(`npx tsx bench/snapshot.bench.ts [options]
  --quick                 smoke check (~20 s): 2 processes, small sizes, 5 rounds; do not quote
  --part P                propagation, compile, or both comma-separated (default both)
  --fleet N,M,...         process fleet sizes (default 30,10,1)
  --rounds N              rounds per row (default 20; 5 with --quick)
  --large-bindings N      extra bindings for the large-policy rows (default 50000; 0 with --quick)
  --huge-bindings N       a second, larger policy applied with the CLI (opt-in, e.g. 500000; minutes)
Proxy memory at a large policy, in isolation: npx tsx bench/snapshot-memory.bench.ts --help`);
  process.exit(0);
}

const QUICK = args.quick === true;
const ROUNDS = Number(args.rounds ?? (QUICK ? 5 : 20));
const WARMUP_ROUNDS = 2;
/** Pause between probes of one proxy: each probe is a recorded (fsync'd, shipped) exchange, so probing loads the system. */
const PROBE_GAP_MS = 5;
/** Fleet sizes of the process rows, largest first: the stack starts the largest, each next row stops the surplus. */
const FLEET = (typeof args.fleet === "string" ? args.fleet : QUICK ? "2,1" : "30,10,1").split(",").map(Number).sort((a, b) => b - a);
const PROCESSES = FLEET[0]!;
/** The fleet size the large-policy rows run at: 10, or the largest below it. */
const LARGE_FLEET = FLEET.find((n) => n <= 10) ?? FLEET.at(-1)!;
/** A policy this large (500,000 in the issue) is applied with the CLI and measured at LARGE_FLEET: opt-in, it takes minutes. */
const HUGE_BINDINGS = Number(args["huge-bindings"] ?? 0);
/** Probe requests per footprint measurement (CPU per request of proxy 1). */
const FOOTPRINT_REQUESTS = QUICK ? 50 : 300;
const IN_PROCESS_FLEETS = [1, 10, 50];
const LARGE_BINDINGS = Number(args["large-bindings"] ?? (QUICK ? 0 : 50_000));
const LARGE_ROUNDS = Math.min(ROUNDS, 5);
const SIZES = QUICK ? [10, 1_000] : [10, 1_000, 50_000];
const BUILD_RUNS = 5;
const PARTS = new Set(typeof args.part === "string" ? args.part.split(",") : ["propagation", "compile"]);
/** gRPC's default maximum received message; the watch client raises it (watch-client.ts). */
const GRPC_DEFAULT_MAX = 4 * 1024 * 1024;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error("--rounds must be a positive integer");
if (!Number.isInteger(LARGE_BINDINGS) || LARGE_BINDINGS < 0) throw new Error("--large-bindings must be an integer ≥ 0");
if (!Number.isInteger(HUGE_BINDINGS) || HUGE_BINDINGS < 0) throw new Error("--huge-bindings must be an integer ≥ 0");
if (FLEET.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("--fleet must list positive integers, e.g. 30,10,1");

/** Memory and CPU of the proxy processes under one policy size. */
interface FootprintRow {
  bindings: string;
  proxies: number;
  /** `agentgate apply` of that policy, wall ms and file size (undefined for the demo policy). */
  apply?: { ms: number; bytes: number };
  footprint: Footprint;
  load1: string;
}
const footprints: FootprintRow[] = [];
/** How long each bulk change took to reach every proxy after `agentgate apply` returned. */
const seeds: Array<{ bindings: number; proxies: number; settleMs: number; load1: string }> = [];
/** A bulk change's full snapshot must reach every proxy within this before the rounds. */
const SETTLE_TIMEOUT_MS = 600_000;

async function measureFootprint(system: PropagationSystem, bindings: string, apply?: { ms: number; bytes: number }): Promise<void> {
  const load = load1();
  const footprint = await system.footprint(FOOTPRINT_REQUESTS);
  const maxRss = Math.max(...footprint.rssMiB);
  progress(`${bindings} bindings: proxy RSS max ${maxRss.toFixed(0)} MiB, ${footprint.cpuUsPerRequest.toFixed(0)} µs CPU per probe (${footprint.status})`);
  footprints.push({ bindings, proxies: footprint.rssMiB.length, ...(apply ? { apply } : {}), footprint, load1: load });
}

/** One printed propagation row. */
interface PropagationRow {
  proxies: number;
  kind: "process" | "in-process";
  observe: Observe["kind"];
  bindings: string;
  result: RoundsResult;
  load1: string;
}

/** What to stop if the bench is interrupted: try/finally does not run on a signal. */
const onInterrupt = new Set<() => Promise<void>>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.allSettled([...onInterrupt].map((stop) => stop())).finally(() => process.exit(130));
  });
}

const progress = (line: string): void => {
  process.stderr.write(`  ${line}\n`);
};

/** Runs one row's rounds and keeps the result with its labels. */
async function row(
  system: PropagationSystem,
  labels: Omit<PropagationRow, "result" | "load1">,
  opts: Omit<MeasureOptions, "timeoutMs" | "settleMs">,
): Promise<PropagationRow> {
  const load = load1();
  const result = await system.measure({ timeoutMs: 30_000, settleMs: 150, ...opts });
  const last = summarize(result.samples.map((s) => s.lastMs));
  progress(`${labels.proxies} ${labels.kind} ${labels.observe} (${labels.bindings} bindings): last p50 ${ms(last.p50)} ms, max ${ms(last.max)} ms, ${result.failures.length} failed`);
  return { ...labels, result, load1: load };
}

/**
 * The rows of `n` proxy processes: applied always; /readyz polling for the demo policy only
 * (polling ten proxies busy decoding a 3 MB snapshot slowed them down by more than it
 * measured); the probe request for a single proxy only (see the file comment).
 */
async function processRows(system: PropagationSystem, n: number, bindings: string, rounds: number, warmup: number): Promise<PropagationRow[]> {
  const members = system.processMembers();
  const urls = system.stack.proxies.slice(0, n).map((p) => p.ready["url"]!);
  const small = bindings === "demo";
  const observes: Observe[] = [
    { kind: "applied" },
    ...(small ? [{ kind: "readyz" as const, urls, gapMs: PROBE_GAP_MS }] : []),
    ...(small && n === 1 ? [{ kind: "probe" as const, urls, gapMs: PROBE_GAP_MS }] : []),
  ];
  const rows: PropagationRow[] = [];
  for (const observe of observes) rows.push(await row(system, { proxies: n, kind: "process", observe: observe.kind, bindings }, { members, observe, rounds, warmup }));
  return rows;
}

/** Part 1: every propagation row, on one stack; stops it whatever happens. */
async function propagation(): Promise<PropagationRow[]> {
  const rows: PropagationRow[] = [];
  const t0 = Date.now();
  const system = await startPropagationSystem({ proxies: PROCESSES });
  const persistDir = mkdtempSync(join(tmpdir(), "agentgate-bench-inproc-"));
  const cleanup = async (): Promise<void> => {
    await system.stop();
    rmSync(persistDir, { recursive: true, force: true });
  };
  onInterrupt.add(cleanup);
  progress(`stack with ${PROCESSES} proxy processes up in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  try {
    for (const n of FLEET) {
      await system.keepProcesses(n);
      rows.push(...(await processRows(system, n, "demo", ROUNDS, WARMUP_ROUNDS)));
      if (n !== LARGE_FLEET) continue;
      await measureFootprint(system, "demo");
      for (const count of [LARGE_BINDINGS, HUGE_BINDINGS].filter((c) => c > 0)) {
        const applied = await system.seedBulk(count);
        progress(`applied ${count} bindings with agentgate apply in ${(applied.ms / 1000).toFixed(1)} s (${(applied.bytes / 1e6).toFixed(1)} MB)`);
        // The bulk change itself reaches each proxy as a full snapshot (larger than any delta):
        // timed on its own, and the rounds start once every proxy has it.
        const settled = await system.settle(SETTLE_TIMEOUT_MS);
        progress(`the ${count}-binding version ${settled.version} applied by all ${n} proxies ${(settled.ms / 1000).toFixed(1)} s after the CLI returned`);
        seeds.push({ bindings: count, proxies: n, settleMs: settled.ms, load1: load1() });
        rows.push(...(await processRows(system, n, `+${count}`, LARGE_ROUNDS, 1)));
        await measureFootprint(system, `+${count}`, applied);
      }
      if (LARGE_BINDINGS + HUGE_BINDINGS > 0) await system.removeBulk(); // the next row's warm-up rounds carry the removal
    }
    await system.keepProcesses(0);
    for (const n of IN_PROCESS_FLEETS) {
      const fleet = await startInProcessFleet({ count: n, address: system.grpcAddress, proxyToken: system.proxyToken, tracker: system.tracker, persistDir });
      try {
        const labels = { proxies: n, kind: "in-process" as const, observe: "applied" as const, bindings: "demo" };
        rows.push(await row(system, labels, { members: fleet.members, observe: { kind: "applied" }, rounds: ROUNDS, warmup: WARMUP_ROUNDS }));
      } finally {
        await fleet.stop();
      }
    }
  } finally {
    onInterrupt.delete(cleanup);
    await cleanup();
  }
  return rows;
}

/** Column text of each observation. */
const OBSERVED: Record<Observe["kind"], string> = { applied: "applied", readyz: "/readyz version", probe: "probe 403/200" };

function propagationTable(rows: readonly PropagationRow[]): string {
  const header = ["proxies", "kind", "enforced =", "bindings", "rounds", "mutation p50 ms", "first p50 ms", "last p50 ms", "last p99 ms", "last max ms", "failed", "load1"];
  return renderTable(
    header,
    rows.map((r) => {
      const mutation = summarize(r.result.samples.map((s) => s.mutationMs));
      const first = summarize(r.result.samples.map((s) => s.firstMs));
      const last = summarize(r.result.samples.map((s) => s.lastMs));
      return [
        String(r.proxies),
        r.kind,
        OBSERVED[r.observe],
        r.bindings,
        String(r.result.samples.length),
        ms(mutation.p50),
        ms(first.p50),
        ms(last.p50),
        ms(last.p99),
        ms(last.max),
        String(r.result.failures.length),
        r.load1,
      ];
    }),
  );
}

/** A buildSnapshot measurement without its (possibly large) snapshot. */
type BuildRow = Omit<BuildResult, "snapshot">;

/** Part 2 results: builds per provider and size, and the proxy side per size. */
interface CompileResults {
  builds: BuildRow[];
  proxySide: Map<number, ProxySideResult>;
}

async function compile(): Promise<CompileResults> {
  const builds: BuildRow[] = [];
  const proxySide = new Map<number, ProxySideResult>();
  for (const size of SIZES) {
    for (const provider of TEST_PROVIDERS) {
      const { snapshot, ...build } = await measureBuild(provider, size, BUILD_RUNS);
      builds.push(build); // numbers only: the 50k-binding message is large
      progress(`${provider} ${size} bindings: seeded in ${(build.seedMs / 1000).toFixed(1)} s, buildSnapshot median ${ms(build.buildMs.median)} ms`);
      // Small snapshots take microseconds: more runs for a stable median.
      if (!proxySide.has(size)) proxySide.set(size, await measureProxySide(snapshot, size <= 1_000 ? 50 : BUILD_RUNS));
    }
  }
  return { builds, proxySide };
}

function buildTable(builds: readonly BuildRow[]): string {
  const header = ["bindings", "database", "seed s", "buildSnapshot p50 ms", "min ms", "max ms", "µs / binding (p50)"];
  // Per binding only where bindings dominate the fixed cost (the other tables and queries).
  return renderTable(
    header,
    builds.map((b) => [
      String(b.bindings),
      b.provider,
      (b.seedMs / 1000).toFixed(1),
      ms(b.buildMs.median),
      ms(b.buildMs.min),
      ms(b.buildMs.max),
      b.bindings >= 1_000 ? ((b.buildMs.median * 1000) / b.bindings).toFixed(1) : "-",
    ]),
  );
}

function proxySideTable(proxySide: ReadonlyMap<number, ProxySideResult>): string {
  const header = ["bindings", "Snapshot bytes", "bytes / binding", "of 4 MiB", "toBinary ms", "toBinary ×50 ms", "fromBinary ms", "compilePolicy ms", "proxyStateCompiler ms", "… cold ms"];
  return renderTable(
    header,
    [...proxySide].map(([size, p]) => [
      String(size),
      String(p.bytes),
      (p.bytes / size).toFixed(0),
      `${((100 * p.bytes) / GRPC_DEFAULT_MAX).toFixed(1)} %`,
      ms(p.serializeMs),
      ms(p.serializeMs * 50),
      ms(p.parseMs),
      ms(p.compilePolicyMs),
      ms(p.proxyStateMs),
      ms(p.proxyStateColdMs),
    ]),
  );
}

async function main(): Promise<void> {
  const m = machineInfo();
  console.log("# agentgate snapshot bench");
  console.log(`machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB} GiB, ${m.platform}, node ${m.node}`);
  console.log(`code: ${codeVersion()}`);
  console.log(`load average at start: ${m.loadAtStart.map((l) => l.toFixed(2)).join(" / ")} (1/5/15 min)${QUICK ? "  (--quick: smoke check only, do not quote)" : ""}`);
  const started = Date.now();

  if (PARTS.has("propagation")) {
    console.log(`\n## Mutation → enforcement (PostgreSQL, GraphQL updatePolicy; ${ROUNDS} rounds after ${WARMUP_ROUNDS} warm-up, ms from just before the mutation)\n`);
    const rows = await propagation();
    console.log(propagationTable(rows));
    console.log(
      "\nprocess = real proxy processes (demo/stack.ts); in-process = startWatch + SnapshotStore (disk copy) + proxyStateCompiler per client, one event loop." +
        "\napplied = the proxy's 'snapshot applied' log line (at the swap; the disk copy follows), or onApplied in process; /readyz version = /readyz shows it (after the swap);" +
        "\nprobe = first probe request through the proxy answered per the new policy. first/last = the first/last proxy of the fleet." +
        "\nmutation = GraphQL round trip (the control plane builds and publishes the snapshot before answering). with < 100 samples, p99 (nearest rank) is the max.",
    );
    for (const r of rows) for (const f of r.result.failures.slice(0, 3)) console.log(`  failure (${r.proxies} ${r.kind} ${r.observe}): ${f}`);
    for (const s of seeds) console.log(`\n+${s.bindings} bindings (one full snapshot per proxy): applied by all ${s.proxies} proxies ${(s.settleMs / 1000).toFixed(1)} s after agentgate apply returned (load1 ${s.load1})`);
    if (footprints.length > 0) {
      console.log(`\n## Proxy footprint by policy size (${LARGE_FLEET} processes; CPU of proxy 1 over ${FOOTPRINT_REQUESTS} sequential probe requests)\n`);
      const base = footprints[0]!.footprint.cpuUsPerRequest;
      console.log(
        renderTable(
          ["bindings", "agentgate apply s", "file MB", "RSS max MiB", "RSS mean MiB", "CPU µs / request", "vs demo", "probe status", "load1"],
          footprints.map((f) => [
            f.bindings,
            f.apply ? (f.apply.ms / 1000).toFixed(1) : "-",
            f.apply ? (f.apply.bytes / 1e6).toFixed(1) : "-",
            Math.max(...f.footprint.rssMiB).toFixed(0),
            (f.footprint.rssMiB.reduce((a, b) => a + b, 0) / f.footprint.rssMiB.length).toFixed(0),
            f.footprint.cpuUsPerRequest.toFixed(0),
            `${(f.footprint.cpuUsPerRequest / base).toFixed(2)}x`,
            String(f.footprint.status),
            f.load1,
          ]),
        ),
      );
      console.log("CPU per request covers the whole recorded exchange (token check, authorization, limits, spool fsync, shipping), the same request each row.");
    }
  }

  if (PARTS.has("compile")) {
    console.log(`\n## Snapshot compile and size (median of ${BUILD_RUNS} after a warm-up run; proxy side of ≤ 1,000 bindings: median of 50)\n`);
    const { builds, proxySide } = await compile();
    console.log(buildTable(builds));
    console.log("");
    console.log(proxySideTable(proxySide));
    const largest = [...proxySide].pop();
    if (largest) {
      const [size, p] = largest;
      console.log(
        `\n${size} bindings: ${(p.bytes / 2 ** 20).toFixed(2)} MiB per Snapshot message, ${p.bytes > GRPC_DEFAULT_MAX ? "OVER" : "under"} gRPC's 4 MiB default receive limit` +
          " (the watch client raises its limit to 64 MiB; grpc-js servers do not limit sends). toBinary ×50 = the control plane's serialization for 50 watchers: grpc-js serializes on every write.",
      );
    }
  }
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

await main();
