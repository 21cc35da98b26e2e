/**
 * Session-recording bench (issue 7): how fast the control plane ingests session records,
 * and what recording adds to each proxied request.
 *
 *   npx tsx bench/ingest.bench.ts              # full run (~2 min on a quiet machine, ~3 on a busy one)
 *   npx tsx bench/ingest.bench.ts --quick      # smoke check (~45 s), numbers not quotable
 *   npx tsx bench/ingest.bench.ts --duration 10 --parts spool,e2e
 *   npm run bench -- --bench ingest
 *
 * Options: --duration N (seconds per latency row, default 5; the ingest window is 2N),
 * --records N (records per simulated proxy, default 4,000; 20,000 is issue 7's full size),
 * --parts spool,e2e,ingest (a subset), --node-load (Node load generator even if wrk is
 * installed), --backlog-batch N (the report clients' backlogBatchSize; default theirs, 5 × 200;
 * 200 = one size for every batch, as before it existed). Options of other benches (forwarded by bench/run.ts) are ignored.
 *
 * Parts (printed in this order; see bench/README.md for what each column means):
 *  spool   Spool.append latency with 1/16/64 concurrent appenders, spool on this disk and on
 *          tmpfs, and a bare write+fdatasync loop: the recording cost on the response path.
 *  e2e     POST /assistants/search direct to the LangGraph dev server vs through a real proxy
 *          whose spool is on this disk vs one whose spool is on tmpfs, 1 and 16 connections:
 *          the proxy's added latency and the part of it that is the durable append.
 *  ingest  4 simulated proxies (real spool + real report client each, in one worker process)
 *          append ~1 KB records as fast as they can (--records each, at most 2N s), then drain; the control
 *          plane runs in this process on PostgreSQL, then on SQLite. Rows are counted and
 *          checked exactly (per proxy: count, distinct ids, seqs 1..n) at the end.
 */
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TMPFS, startE2eSystems, type E2eSystems, type E2eTarget } from "./lib/ingest-e2e.js";
import { measureIngestBreakdown, type IngestBreakdown } from "./lib/ingest-breakdown.js";
import { sampleOwnCpu } from "./lib/ingest-cpu.js";
import { startIngestControlPlane, type IngestControlPlane, type IngestVerification } from "./lib/ingest-control-plane.js";
import { measureBareFdatasync, measureSpoolAppend, type AppendLatency } from "./lib/ingest-spool.js";
import type { IngestWorkerInput, IngestWorkerResult } from "./lib/ingest-types.js";
import type { HttpLoadSpec, LoadResult } from "./lib/load.js";
import { chooseLoader, type HttpLoader } from "./lib/loader.js";
import { load1, machineInfo } from "./lib/machine.js";
import { cpuMeter } from "./lib/cpu-time.js";
import { runWorker } from "./lib/procs.js";
import { delta, ms } from "./lib/stats.js";
import { renderTable } from "./lib/table.js";
import { TEST_PROVIDERS, type TestProvider } from "../test/helpers/databases.js";
import { openStore } from "../control-plane/store/client.js";

// strict: false, because bench/run.ts forwards every bench's options to every bench.
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    duration: { type: "string" },
    parts: { type: "string" },
    "node-load": { type: "boolean", default: false },
    records: { type: "string" },
    databases: { type: "string" },
    "outage-rate": { type: "string" },
    "backlog-batch": { type: "string" },
  },
  strict: false,
  allowPositionals: true,
});

const QUICK = args.quick === true;
const ROW_S = Number(args.duration ?? (QUICK ? 1 : 5));
if (!Number.isFinite(ROW_S) || ROW_S <= 0) throw new Error("--duration must be a positive number of seconds");
const PARTS = new Set(String(args.parts ?? "spool,e2e,ingest,outage").split(","));
const DATABASES = String(args.databases ?? TEST_PROVIDERS.join(",")).split(",") as TestProvider[];
for (const d of DATABASES) if (!TEST_PROVIDERS.includes(d)) throw new Error(`--databases: ${d} is not one of ${TEST_PROVIDERS.join(", ")}`);

/** ~1 KB response body per record, as the brief asks. */
const BODY_BYTES = 1024;
const APPENDERS = [1, 16, 64];
const E2E_CONNECTIONS = [1, 16];
const SEARCH = { path: "/assistants/search", body: JSON.stringify({ limit: 10, offset: 0 }) };

/**
 * The ingest scenario: 4 proxies, the proxy's production report settings (data-plane/app.ts).
 * The append window ends after 2 × --duration seconds or at --records per proxy, whichever
 * comes first; the default cap keeps the drain (at the measured ingest rate) inside the
 * bench's time budget. `--records 20000` runs the full issue-7 size (~2 min per database).
 */
const RECORDS = Number(args.records ?? (QUICK ? 1_000 : 4_000));
if (!Number.isSafeInteger(RECORDS) || RECORDS <= 0) throw new Error("--records must be a positive integer");
const INGEST = {
  proxies: 4,
  appendersPerProxy: 64,
  warmupRecords: QUICK ? 200 : 400,
  windowS: 2 * ROW_S,
  maxRecordsPerProxy: RECORDS,
  batchSize: 200,
  flushIntervalMs: 100,
  drainTimeoutS: Math.max(120, RECORDS / 50),
};

const BACKLOG_BATCH = args["backlog-batch"] === undefined ? undefined : Number(args["backlog-batch"]);
if (BACKLOG_BATCH !== undefined && !(Number.isSafeInteger(BACKLOG_BATCH) && BACKLOG_BATCH > 0)) throw new Error("--backlog-batch must be a positive integer");

const rate = (n: number, s: number): string => (s > 0 ? (n / s).toFixed(0) : "-");

/**
 * The outage scenario (issue #13, prompt catch-up): 4 proxies append at a steady
 * `perSecond` throughout; the control plane runs for `upS`, is stopped for `downS` (the
 * proxies keep serving into their spools), then runs again for `afterS`, and the spools drain.
 */
const OUTAGE = {
  proxies: 4,
  perSecond: Number(args["outage-rate"] ?? (QUICK ? 400 : 1_000)),
  warmupRecords: QUICK ? 100 : 200,
  upS: QUICK ? 2 : 5,
  downS: QUICK ? 4 : 10,
  afterS: QUICK ? 6 : 15,
};

// ---------------------------------------------------------------- spool

/** Part "spool": append latency on this disk and on tmpfs, and the disk's bare fdatasync. */
async function spoolPart(): Promise<Map<number, AppendLatency>> {
  const rows: string[][] = [];
  const onDisk = new Map<number, AppendLatency>();
  const row = (where: string, what: string, r: AppendLatency, load: string) =>
    rows.push([where, what, String(r.concurrency), r.opsPerSec.toFixed(0), ms(r.p50), ms(r.p99), ms(r.max), r.perSync.toFixed(1), r.cpuUs.toFixed(0), load]);
  const disk = tmpdir();
  let load = load1();
  row(`${disk} (disk)`, "bare write+fdatasync", await measureBareFdatasync(disk, BODY_BYTES + 200, ROW_S), load);
  const folders: Array<[string, string]> = [[disk, `${disk} (disk)`], [TMPFS, `${TMPFS} (tmpfs)`]];
  for (const [parent, label] of folders) {
    for (const c of APPENDERS) {
      load = load1();
      const r = await measureSpoolAppend({ parent, concurrency: c, durationS: ROW_S, bodyBytes: BODY_BYTES, warmupS: QUICK ? 0.3 : 0.5 });
      if (parent === disk) onDisk.set(c, r);
      row(label, "Spool.append", r, load);
      process.stderr.write(`  spool ${label} c=${c}: p50 ${ms(r.p50)} ms, ${r.opsPerSec.toFixed(0)}/s\n`);
    }
  }
  console.log(`\n## Recording cost on the response path: Spool.append of a ~${BODY_BYTES} B-response record (${ROW_S} s per row)\n`);
  console.log(renderTable(["spool folder", "operation", "concurrent", "appends/s", "p50 ms", "p99 ms", "max ms", "records per fdatasync", "CPU µs/append", "load1"], rows));
  return onDisk;
}

// ---------------------------------------------------------------- e2e

/** Fails early when a target does not answer 200 (misconfiguration, not slowness). */
async function checkTarget(t: E2eTarget): Promise<void> {
  const res = await fetch(t.baseUrl + SEARCH.path, { method: "POST", headers: { ...t.headers, "content-type": "application/json" }, body: SEARCH.body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${t.name} ${t.baseUrl}${SEARCH.path} answered ${res.status}: ${text.slice(0, 300)}`);
}

const searchSpec = (t: E2eTarget, connections: number, durationS: number): HttpLoadSpec => ({
  url: t.baseUrl + SEARCH.path,
  method: "POST",
  headers: { ...t.headers, "content-type": "application/json" },
  body: SEARCH.body,
  connections,
  durationS,
});

/** One load row through one target, with the CPU the proxy and the control plane spent meanwhile. */
interface E2eRow {
  readonly target: E2eTarget;
  readonly connections: number;
  readonly result: LoadResult;
  readonly load1: string;
  /** Proxy CPU per request, µs (undefined for direct or without /proc). */
  readonly proxyUs: number | undefined;
  /** Control-plane CPU during the row: share of one core, and per request. */
  readonly cpShare: number | undefined;
  readonly cpUsPerRequest: number | undefined;
}

async function measureE2e(loader: HttpLoader, systems: E2eSystems, target: E2eTarget, connections: number): Promise<E2eRow> {
  const load = load1();
  const proxyCpu = target.proxyPid === undefined ? undefined : cpuMeter(target.proxyPid);
  const cpCpu = cpuMeter(systems.controlPlanePid);
  const proxyBefore = proxyCpu?.();
  const cpBefore = cpCpu?.();
  const started = performance.now();
  const result = await loader.run(searchSpec(target, connections, ROW_S));
  const wallMs = performance.now() - started;
  const perRequest = (used: number) => (result.requests > 0 ? (used * 1000) / result.requests : undefined);
  const cpMs = cpCpu && cpBefore !== undefined ? cpCpu() - cpBefore : undefined;
  return {
    target,
    connections,
    result,
    load1: load,
    proxyUs: proxyCpu && proxyBefore !== undefined ? perRequest(proxyCpu() - proxyBefore) : undefined,
    cpShare: cpMs === undefined ? undefined : cpMs / wallMs,
    cpUsPerRequest: cpMs === undefined || target.proxyPid === undefined ? undefined : perRequest(cpMs),
  };
}

/** Part "e2e": direct vs proxy (disk spool) vs proxy (tmpfs spool), then the attribution. */
async function e2ePart(loader: HttpLoader, appendOnDisk: ReadonlyMap<number, AppendLatency>): Promise<void> {
  let systems: E2eSystems | undefined;
  const measured: E2eRow[] = [];
  try {
    process.stderr.write("starting the demo stack (LangGraph dev server, issuer, control plane, 2 proxies)\n");
    systems = await startE2eSystems();
    for (const t of systems.targets) {
      await checkTarget(t);
      await loader.run(searchSpec(t, 16, 1)); // JIT, pools, verified-token cache
    }
    const [direct, diskProxy, tmpfsProxy] = systems.targets as [E2eTarget, E2eTarget, E2eTarget];
    for (const [i, c] of E2E_CONNECTIONS.entries()) {
      // The two proxies swap places from one concurrency to the next, so that neither always
      // runs second (the shared machine's load drifts).
      for (const t of i % 2 === 0 ? [direct, diskProxy, tmpfsProxy] : [direct, tmpfsProxy, diskProxy]) {
        const row = await measureE2e(loader, systems, t, c);
        measured.push(row);
        process.stderr.write(`  ${t.name} c=${c}: ${row.result.rps.toFixed(0)} req/s, p50 ${ms(row.result.p50)} ms\n`);
      }
    }
  } finally {
    await systems?.stop();
  }
  const find = (name: E2eTarget["name"], c: number) => measured.find((m) => m.target.name === name && m.connections === c)?.result;
  const rows = measured.map((m) => {
    const r = m.result;
    const direct = m.target.name === "direct" ? undefined : find("direct", m.connections);
    return [m.target.name, String(m.connections), r.rps.toFixed(0), ms(r.p50), ms(r.p99), r.errors ? `${r.errors} (${r.errorDetail})` : "0",
      direct ? delta(r.p50, direct.p50) : "-", direct ? delta(r.p99, direct.p99) : "-",
      m.proxyUs === undefined ? "-" : m.proxyUs.toFixed(0), m.cpShare === undefined ? "-" : `${(m.cpShare * 100).toFixed(0)}%`,
      m.cpUsPerRequest === undefined ? "-" : m.cpUsPerRequest.toFixed(0), m.load1];
  });
  console.log(`\n## End to end: POST /assistants/search on the LangGraph dev server (${loader.tool}, ${ROW_S} s per row)\n`);
  console.log(renderTable(["target", "conns", "req/s", "p50 ms", "p99 ms", "errors", "p50 +ms vs direct", "p99 +ms vs direct", "proxy CPU µs/req", "control plane CPU", "CP CPU µs/proxied req", "load1"], rows));

  const attribution = E2E_CONNECTIONS.map((c) => {
    const direct = find("direct", c);
    const disk = find("proxy, disk spool", c);
    const tmpfs = find("proxy, tmpfs spool", c);
    const append = appendOnDisk.get(c);
    return [String(c), delta(disk?.p50, direct?.p50), delta(disk?.p50, tmpfs?.p50), append ? ms(append.p50) : "-", delta(tmpfs?.p50, direct?.p50),
      delta(disk?.p99, direct?.p99), delta(disk?.p99, tmpfs?.p99), append ? ms(append.p99) : "-", delta(tmpfs?.p99, direct?.p99)];
  });
  console.log("\n## Where the proxy's added latency goes (ms; disk-spool proxy vs direct, split by the tmpfs-spool proxy)\n");
  console.log(renderTable(["conns", "p50 added", "p50: durable append (disk − tmpfs)", "p50 Spool.append on disk (spool table)", "p50: rest of the proxy (tmpfs − direct)",
    "p99 added", "p99: durable append", "p99 Spool.append on disk", "p99: rest of the proxy"], attribution));
}

// ---------------------------------------------------------------- ingest

/** What one database's ingest run produced. */
interface IngestRun {
  readonly provider: TestProvider;
  readonly result: IngestWorkerResult;
  readonly check: IngestVerification;
  /** CPU seconds of this process (the control plane) from the window's start to the drain's end. */
  readonly cpCpuS: number;
  readonly breakdown: IngestBreakdown;
  readonly load1: string;
}

/** One database: control plane in this process, proxies in a worker, exact row check, then the CPU breakdown. */
async function ingestOne(provider: TestProvider): Promise<IngestRun> {
  let cp: IngestControlPlane | undefined;
  const spoolRoot = join(tmpdir(), `agentgate-bench-ingest-spools-${process.pid}-${provider}`);
  try {
    cp = await startIngestControlPlane(provider);
    const input: IngestWorkerInput = {
      address: cp.grpcAddress,
      proxyToken: cp.proxyToken,
      proxyIds: Array.from({ length: INGEST.proxies }, (_, i) => `bench-proxy-${i + 1}`),
      spoolRoot,
      appendersPerProxy: INGEST.appendersPerProxy,
      warmupRecords: INGEST.warmupRecords,
      windowS: INGEST.windowS,
      maxRecordsPerProxy: INGEST.maxRecordsPerProxy,
      bodyBytes: BODY_BYTES,
      batchSize: INGEST.batchSize,
      flushIntervalMs: INGEST.flushIntervalMs,
      drainTimeoutS: INGEST.drainTimeoutS,
      backlogBatchSize: BACKLOG_BATCH,
    };
    const load = load1();
    const timeoutMs = (60 + INGEST.windowS + INGEST.drainTimeoutS) * 1000 + 60_000;
    const cpu = sampleOwnCpu();
    let result: IngestWorkerResult;
    try {
      result = await runWorker<IngestWorkerInput, IngestWorkerResult>("ingest-proxies-worker.ts", input, timeoutMs);
    } finally {
      cpu.stop();
    }
    // The check first: the breakdown adds rows of its own proxy ids.
    const check = await cp.verify(new Map(result.proxies.map((p) => [p.proxyId, p.appendedTotal])));
    const breakdown = await measureIngestBreakdown(cp.databaseUrl, { batches: QUICK ? 3 : 8, batchSize: INGEST.batchSize, bodyBytes: BODY_BYTES });
    return { provider, result, check, cpCpuS: cpu.between(result.windowStartedAtMs, result.drainEndedAtMs), breakdown, load1: load };
  } finally {
    await cp?.stop();
    await rm(spoolRoot, { recursive: true, force: true });
  }
}

/** Per second since the append phase started: appended / acked in that second / backlog at its end. */
function timelineLine(r: IngestWorkerResult): string {
  return r.timeline
    .map((s, i) => `${s.t.toFixed(1)}s ${s.appended - (r.timeline[i - 1]?.appended ?? 0)}/${s.acked - (r.timeline[i - 1]?.acked ?? 0)}/${s.backlog}`)
    .join("  ");
}

/** The sustained-ingest row of one run. */
function ingestRow(run: IngestRun): string[] {
  const r = run.result;
  const total = (f: (p: IngestWorkerResult["proxies"][number]) => number) => r.proxies.reduce((n, p) => n + f(p), 0);
  const appended = total((p) => p.appendedInWindow);
  const wall = r.windowS + r.drainS;
  const acked = r.ackedInWindow + r.ackedInDrain;
  return [
    run.provider,
    String(appended),
    r.windowS.toFixed(1),
    rate(appended, r.windowS),
    String(total((p) => p.backlogAtWindowEnd)),
    rate(r.ackedInWindow, r.windowS),
    r.drainS.toFixed(1),
    rate(r.ackedInDrain, r.drainS),
    rate(acked, wall),
    String(total((p) => p.backlogAtEnd)),
    `${run.check.ok ? "exact" : "MISMATCH"} ${run.check.rows}/${run.check.expected}`,
    `${total((p) => p.ackedTotal - p.appendedTotal)}/${total((p) => p.streams - 1)}`,
    `${((run.cpCpuS / wall) * 100).toFixed(0)}%`,
    acked > 0 ? ((run.cpCpuS * 1e6) / acked).toFixed(0) : "-",
    `${((r.workerCpuS / wall) * 100).toFixed(0)}%`,
    run.load1,
  ];
}

/** Part "ingest": both databases, then the tables. */
async function ingestPart(): Promise<void> {
  const runs: IngestRun[] = [];
  for (const provider of DATABASES) {
    process.stderr.write(`ingest into ${provider}\n`);
    const run = await ingestOne(provider);
    runs.push(run);
    process.stderr.write(`  ${provider}: ${run.result.ackedInWindow + run.result.ackedInDrain} acked in ${(run.result.windowS + run.result.drainS).toFixed(1)} s, rows ${run.check.ok ? "exact" : "MISMATCH"}\n`);
  }
  console.log(
    `\n## Sustained ingest: ${INGEST.proxies} proxies × ${INGEST.appendersPerProxy} appenders, ~${BODY_BYTES} B responses, ${INGEST.maxRecordsPerProxy} records/proxy (or ${INGEST.windowS} s of appending), ` +
      `batches of ${INGEST.batchSize} / ${INGEST.flushIntervalMs} ms, after ${INGEST.warmupRecords} warm-up records/proxy; control plane in the bench process, proxies in one worker process\n`,
  );
  console.log(renderTable(["database", "records appended", "append phase s", "appended/s", "spool backlog after appends", "acked/s while appending", "drain s", "acked/s while draining", "sustained ingest rec/s", "backlog at end", "rows (exact check)", "resent/reconnects", "control plane CPU", "CP CPU µs/record", "proxies CPU", "load1"], runs.map(ingestRow)));
  for (const run of runs) {
    console.log(`\n${run.provider} timeline (per second: appended / acked in that second / spool backlog at its end):\n${timelineLine(run.result)}`);
    if (!run.check.ok) console.log(`ROW CHECK FAILED (${run.provider}): ${run.check.problems.join("; ")}`);
  }
  const b0 = runs[0]?.breakdown;
  console.log(`\n## Control-plane CPU per ingested record, in-process without gRPC (${b0?.batches ?? 0} batches of ${b0?.batchSize ?? 0} fresh records per step)\n`);
  console.log(renderTable(["database", "ingestSessions µs/record", "ms/batch", "scan + hash check µs/record", "store µs/record", "ms/batch"], runs.map(({ provider, breakdown: b }) => [
    provider, b.ingestUs.toFixed(0), b.ingestBatchMs.toFixed(0), b.hashUs.toFixed(0), b.storeUs.toFixed(0), b.storeBatchMs.toFixed(0),
  ])));
}

// ---------------------------------------------------------------- outage

/** What one outage run measured; times in ms, epoch. */
interface OutageRun {
  readonly provider: TestProvider;
  readonly result: IngestWorkerResult;
  readonly check: IngestVerification;
  readonly downAt: number;
  readonly upAt: number;
  /** Stored rows of the window: when the exchange ended (startedAt + durationMs) and when the control plane stored it. */
  readonly rows: ReadonlyArray<{ endedAt: number; receivedAt: number }>;
  /** Control-plane CPU seconds from its return until the backlog was stored. */
  readonly drainCpuS: number;
  readonly load1: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the database until it holds `n` Session rows (the worker's acked warm-up). */
async function waitForRows(url: string, n: number, timeoutMs: number): Promise<void> {
  const store = await openStore(url, { migrate: false });
  try {
    const deadline = Date.now() + timeoutMs;
    while ((await store.prisma.session.count()) < n) {
      if (Date.now() > deadline) throw new Error(`warm-up rows not stored within ${timeoutMs} ms`);
      await sleep(100);
    }
  } finally {
    await store.close();
  }
}

async function storedRows(url: string, fromMs: number): Promise<OutageRun["rows"]> {
  const store = await openStore(url, { migrate: false });
  try {
    const rows = await store.prisma.session.findMany({ where: { startedAt: { gte: new Date(fromMs) } }, select: { startedAt: true, durationMs: true, receivedAt: true } });
    return rows.map((r) => ({ endedAt: r.startedAt.getTime() + r.durationMs, receivedAt: r.receivedAt.getTime() }));
  } finally {
    await store.close();
  }
}

/** One database: paced proxies, the control plane stopped and started under them, the rows' timing read back. */
async function outageOne(provider: TestProvider): Promise<OutageRun> {
  let cp: IngestControlPlane | undefined;
  const spoolRoot = join(tmpdir(), `agentgate-bench-outage-spools-${process.pid}-${provider}`);
  try {
    cp = await startIngestControlPlane(provider);
    const proxyIds = Array.from({ length: OUTAGE.proxies }, (_, i) => `outage-proxy-${i + 1}`);
    const windowS = OUTAGE.upS + OUTAGE.downS + OUTAGE.afterS;
    const input: IngestWorkerInput = {
      address: cp.grpcAddress, proxyToken: cp.proxyToken, proxyIds, spoolRoot, appendersPerProxy: 1,
      warmupRecords: OUTAGE.warmupRecords, windowS, maxRecordsPerProxy: Number.MAX_SAFE_INTEGER, bodyBytes: BODY_BYTES,
      batchSize: INGEST.batchSize, flushIntervalMs: INGEST.flushIntervalMs, drainTimeoutS: 300, pace: { perSecond: OUTAGE.perSecond },
      backlogBatchSize: BACKLOG_BATCH,
    };
    const load = load1();
    const cpu = sampleOwnCpu();
    const worker = runWorker<IngestWorkerInput, IngestWorkerResult>("ingest-proxies-worker.ts", input, (windowS + 420) * 1000);
    let downAt = 0;
    let upAt = 0;
    try {
      // The window opens once the warm-up is acked: schedule the outage from then.
      await waitForRows(cp.databaseUrl, OUTAGE.proxies * OUTAGE.warmupRecords, 120_000);
      await sleep(OUTAGE.upS * 1000);
      downAt = Date.now();
      // A stop that hangs fails the run instead of the whole bench (it did, with batches in flight, until
      // the stop was bounded: control-plane/app.ts; Prisma's $disconnect waited for ever).
      await Promise.race([cp.pause(), sleep(15_000).then(() => Promise.reject(new Error("the control plane did not stop within 15 s (batches in flight)")))]);
      process.stderr.write(`  ${provider}: control plane down\n`);
      await sleep(Math.max(0, downAt + OUTAGE.downS * 1000 - Date.now()));
      await cp.resume();
      upAt = Date.now();
      process.stderr.write(`  ${provider}: control plane back\n`);
    } catch (err) {
      await worker.catch(() => undefined);
      throw err;
    }
    let result: IngestWorkerResult;
    try {
      result = await worker;
    } finally {
      cpu.stop();
    }
    const check = await cp.verify(new Map(result.proxies.map((p) => [p.proxyId, p.appendedTotal])));
    const rows = await storedRows(cp.databaseUrl, result.windowStartedAtMs);
    const caughtUpAt = Math.max(upAt, ...rows.filter((r) => r.endedAt < upAt).map((r) => r.receivedAt));
    return { provider, result, check, downAt, upAt, rows, drainCpuS: cpu.between(upAt, caughtUpAt), load1: load };
  } finally {
    await cp?.stop();
    await rm(spoolRoot, { recursive: true, force: true });
  }
}

/** Nearest-rank percentile of ms values, in s. */
function pct(values: readonly number[], p: number): string {
  if (values.length === 0) return "-";
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! / 1000).toFixed(2);
}

/** The catch-up row of one run. */
function outageRow(run: OutageRun): string[] {
  const lag = (r: OutageRun["rows"][number]) => r.receivedAt - r.endedAt;
  const before = run.rows.filter((r) => r.endedAt < run.downAt);
  const backlog = run.rows.filter((r) => r.endedAt < run.upAt && r.receivedAt >= run.downAt);
  const after = run.rows.filter((r) => r.endedAt >= run.upAt);
  const firstBack = Math.min(...run.rows.filter((r) => r.receivedAt >= run.upAt).map((r) => r.receivedAt));
  const caughtUp = Math.max(run.upAt, ...backlog.map((r) => r.receivedAt));
  const drainedInS = (caughtUp - firstBack) / 1000;
  const storedWhileDraining = run.rows.filter((r) => r.receivedAt >= firstBack && r.receivedAt <= caughtUp).length;
  return [
    run.provider,
    String(OUTAGE.perSecond),
    `${OUTAGE.upS}/${OUTAGE.downS}/${OUTAGE.afterS}`,
    String(backlog.length),
    ((firstBack - run.upAt) / 1000).toFixed(2),
    drainedInS.toFixed(2),
    rate(storedWhileDraining, drainedInS),
    storedWhileDraining > 0 ? ((run.drainCpuS * 1e6) / storedWhileDraining).toFixed(0) : "-",
    `${pct(before.map(lag), 50)} / ${pct(before.map(lag), 99)}`,
    `${pct(backlog.map((r) => r.receivedAt - run.upAt), 50)} / ${pct(backlog.map((r) => r.receivedAt - run.upAt), 99)}`,
    `${pct(after.map(lag), 50)} / ${pct(after.map(lag), 99)} / ${pct(after.map(lag), 100)}`,
    `${run.check.ok ? "exact" : "MISMATCH"} ${run.check.rows}/${run.check.expected}`,
    `${run.result.proxies.reduce((n, p) => n + p.ackedTotal - p.appendedTotal, 0)}/${run.result.proxies.reduce((n, p) => n + p.streams - 1, 0)}`,
    run.load1,
  ];
}

/** Part "outage": both databases, then the table. */
async function outagePart(): Promise<void> {
  const runs: OutageRun[] = [];
  for (const provider of DATABASES) {
    process.stderr.write(`outage scenario on ${provider}\n`);
    runs.push(await outageOne(provider));
  }
  console.log(
    `\n## Catch-up after a control-plane outage: ${OUTAGE.proxies} proxies appending ${OUTAGE.perSecond} records/s in all (~${BODY_BYTES} B responses) throughout; ` +
      `control plane up ${OUTAGE.upS} s, down ${OUTAGE.downS} s, up ${OUTAGE.afterS} s; batches of ${INGEST.batchSize} / ${INGEST.flushIntervalMs} ms, backlog batches of ${BACKLOG_BATCH ?? "(default) " + 5 * INGEST.batchSize}; lag = stored (receivedAt) − exchange end\n`,
  );
  console.log(renderTable(["database", "rec/s offered", "up/down/up s", "backlog records", "first store after return s", "backlog drained in s", "drain rec/s", "CP CPU µs/record (drain)",
    "lag before outage p50/p99 s", "backlog stored after return p50/p99 s", "lag once back p50/p99/max s", "rows (exact check)", "resent/reconnects", "load1"], runs.map(outageRow)));
  for (const run of runs) {
    console.log(`\n${run.provider} timeline (per second: appended / acked in that second / spool backlog at its end):\n${timelineLine(run.result)}`);
    if (!run.check.ok) console.log(`ROW CHECK FAILED (${run.provider}): ${run.check.problems.join("; ")}`);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const m = machineInfo();
  const loader = chooseLoader(args["node-load"] === true);
  console.log("# agentgate ingest and recording bench");
  console.log(`machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB} GiB, ${m.platform}, node ${m.node}`);
  console.log(`load average at start: ${m.loadAtStart.map((l) => l.toFixed(2)).join(" / ")} (1/5/15 min); no CPU pinning`);
  console.log(`rows: ${ROW_S} s each, ingest window ${INGEST.windowS} s${QUICK ? " (--quick: smoke check only, do not quote)" : ""}`);
  const started = Date.now();
  let appendOnDisk = new Map<number, AppendLatency>();
  if (PARTS.has("spool")) appendOnDisk = await spoolPart();
  if (PARTS.has("e2e")) await e2ePart(loader, appendOnDisk);
  if (PARTS.has("ingest")) await ingestPart();
  if (PARTS.has("outage")) await outagePart();
  console.log(`\nload average at end: ${load1()}; ran in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

await main();
