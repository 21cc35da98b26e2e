/**
 * Simulated proxies for the ingest bench, run as their own process by bench/ingest.bench.ts
 * (through `runWorker`), so that the control plane being measured has the bench process to
 * itself. Each simulated proxy is the real recording path of a proxy without the HTTP part:
 * a real spool (`openSpool`, group-committed fdatasync) in its own folder and a real report
 * client (`startReporter`) streaming to the control plane. Input: one JSON IngestWorkerInput
 * as argv[2]; output: one JSON IngestWorkerResult line on stdout.
 *
 * Phases:
 *  1. warm-up: `warmupRecords` per proxy appended and waited for until acked (stream open,
 *     JIT and the database's first inserts out of the way);
 *  2. window: `appendersPerProxy` loops per proxy append ~1 KB records as fast as the spool
 *     takes them, for `windowS` seconds or until `maxRecordsPerProxy` each;
 *  3. drain: appending stops; the report clients keep sending until every spool is empty.
 * A sample of appended / acked / backlog is taken every second throughout 2 and 3.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { openSpool, type Spool } from "../../data-plane/sync/spool.js";
import { startReporter, type Reporter } from "../../data-plane/sync/report-client.js";
import { jsonLineLog, type SyncLog } from "../../data-plane/sync/watch-client.js";
import { testRecord } from "../../data-plane/recording/testing/test-record.js";
import type { IngestProxyResult, IngestSample, IngestWorkerInput, IngestWorkerResult } from "./ingest-types.js";

/** Spool budget of each simulated proxy: the proxy's default (AGENTGATE_SPOOL_MAX_BYTES). */
const SPOOL_MAX_BYTES = 1 << 30;

/** The report clients' own warnings and errors only (reconnects, rejections), on stderr. */
const quietLog: SyncLog = (level, msg, fields) => {
  if (level === "warn" || level === "error") jsonLineLog(level, msg, fields);
};

/** One simulated proxy: its spool, its report client and its counters. */
interface SimProxy {
  readonly id: string;
  readonly spool: Spool;
  readonly reporter: Reporter;
  /** Next record number (also the request id's suffix). */
  next: number;
  appended: number;
}

async function startProxy(input: IngestWorkerInput, id: string): Promise<SimProxy> {
  const spool = await openSpool({ dir: join(input.spoolRoot, id), maxBytes: SPOOL_MAX_BYTES });
  const reporter = startReporter({
    address: input.address,
    proxyId: id,
    proxyToken: input.proxyToken,
    spool,
    batchSize: input.batchSize,
    flushIntervalMs: input.flushIntervalMs,
    ...(input.backlogBatchSize === undefined ? {} : { backlogBatchSize: input.backlogBatchSize }),
    log: quietLog,
  });
  return { id, spool, reporter, next: 1, appended: 0 };
}

/**
 * Appends `perSecond` records per second spread over the proxies until the deadline: every
 * 10 ms, the records due by then (not waiting for the previous tick's appends, as requests
 * keep arriving whatever the spool does).
 */
async function pacedLoop(proxies: readonly SimProxy[], bodyBytes: number, perSecond: number, deadline: number): Promise<void> {
  const started = performance.now();
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  while (performance.now() < deadline) {
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
    for (; sent < due; sent++) {
      const p = proxies[sent % proxies.length]!;
      const record = testRecord(p.next++, bodyBytes);
      record.proxyId = p.id;
      const append: Promise<void> = p.spool.append(record).then(() => {
        p.appended++;
        inFlight.delete(append);
      });
      inFlight.add(append);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(inFlight);
}

/** Appends records to one proxy's spool, one at a time, until the deadline or the cap. */
async function appendLoop(p: SimProxy, bodyBytes: number, deadline: number, cap: number): Promise<void> {
  while (performance.now() < deadline && p.next <= cap) {
    const record = testRecord(p.next++, bodyBytes);
    record.proxyId = p.id;
    await p.spool.append(record);
    p.appended++;
  }
}

const sum = (xs: readonly SimProxy[], f: (p: SimProxy) => number): number => xs.reduce((n, p) => n + f(p), 0);

async function main(input: IngestWorkerInput): Promise<IngestWorkerResult> {
  const proxies: SimProxy[] = [];
  try {
    for (const id of input.proxyIds) proxies.push(await startProxy(input, id));

    // 1. Warm-up, acked before the window opens.
    await Promise.all(proxies.map((p) => appendLoop(p, input.bodyBytes, Infinity, input.warmupRecords)));
    const warm = await Promise.all(proxies.map((p) => p.reporter.flush(60_000)));
    if (warm.includes(false)) throw new Error(`warm-up records not acked within 60 s: ${JSON.stringify(proxies.map((p) => p.reporter.status()))}`);

    // 2. Window, sampled every second (3 continues the samples).
    const appendedBefore = proxies.map((p) => p.appended);
    const ackedBefore = sum(proxies, (p) => p.reporter.status().acked);
    const acked = () => sum(proxies, (p) => p.reporter.status().acked) - ackedBefore;
    const appendedBase = sum(proxies, (p) => p.appended);
    const appendedInWindow = () => sum(proxies, (p) => p.appended) - appendedBase;
    const backlog = () => sum(proxies, (p) => p.spool.stats().pendingCount);
    const cpuBefore = process.cpuUsage();
    const windowStartedAtMs = Date.now();
    const started = performance.now();
    const timeline: IngestSample[] = [];
    const sampler = setInterval(() => {
      timeline.push({ t: (performance.now() - started) / 1000, appended: appendedInWindow(), acked: acked(), backlog: backlog() });
    }, 1000);
    try {
      const deadline = started + input.windowS * 1000;
      const cap = input.warmupRecords + input.maxRecordsPerProxy;
      if (input.pace) await pacedLoop(proxies, input.bodyBytes, input.pace.perSecond, deadline);
      else await Promise.all(proxies.flatMap((p) => Array.from({ length: input.appendersPerProxy }, () => appendLoop(p, input.bodyBytes, deadline, cap))));
      const windowEnd = performance.now();
      const ackedInWindow = acked();
      const backlogAtWindowEnd = proxies.map((p) => p.spool.stats().pendingCount);

      // 3. Drain.
      const drained = (await Promise.all(proxies.map((p) => p.reporter.flush(input.drainTimeoutS * 1000)))).every(Boolean);
      const drainEnd = performance.now();
      const drainEndedAtMs = Date.now();
      const cpu = process.cpuUsage(cpuBefore);
      timeline.push({ t: (drainEnd - started) / 1000, appended: appendedInWindow(), acked: acked(), backlog: backlog() });

      const results: IngestProxyResult[] = proxies.map((p, i) => {
        const s = p.reporter.status();
        return {
          proxyId: p.id,
          appendedTotal: p.appended,
          appendedInWindow: p.appended - appendedBefore[i]!,
          ackedTotal: s.acked,
          rejected: s.rejected,
          streams: s.streams,
          backlogAtWindowEnd: backlogAtWindowEnd[i]!,
          backlogAtEnd: p.spool.stats().pendingCount,
          lastError: s.lastError,
        };
      });
      return {
        proxies: results,
        windowS: (windowEnd - started) / 1000,
        drainS: (drainEnd - windowEnd) / 1000,
        drained,
        windowStartedAtMs,
        drainEndedAtMs,
        ackedInWindow,
        ackedInDrain: acked() - ackedInWindow,
        workerCpuS: (cpu.user + cpu.system) / 1e6,
        timeline,
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    for (const p of proxies) {
      await p.reporter.stop();
      await p.spool.close();
    }
    await rm(input.spoolRoot, { recursive: true, force: true });
  }
}

process.stdout.write(JSON.stringify(await main(JSON.parse(process.argv[2]!) as IngestWorkerInput)) + "\n");
