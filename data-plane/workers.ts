/**
 * Worker mode (AGENTGATE_PROXY_WORKERS=N|auto): the proxy uses every core of its host. The
 * primary process serves nothing; it forks N node:cluster workers that share the listening port
 * (the primary hands out connections round-robin). Each worker is a whole proxy for recording —
 * its own id `<proxy id>.w<i>`, data folder `<data dir>/worker-<i>` (spool, hash chain, intent
 * journal, snapshot copy) and report stream — so every guarantee of one proxy holds per worker:
 * a record is durable before its response completes, and a worker killed (even with kill -9) is
 * started again on the same folder, whose spool and journal are recovered and reported as after
 * any proxy restart. Limits are shared through Redis (required in this mode).
 *
 * Signals: SIGTERM/SIGINT to the primary stop every worker gracefully (each drains its exchanges
 * and flushes its spool, as one proxy does), then the primary exits. A primary killed outright
 * takes its workers down with it (a cluster worker exits when its primary's channel closes), and
 * the next start recovers each worker's folder.
 */
import cluster, { type Worker } from "node:cluster";
import type { ProxyConfig } from "./config.js";
import { log } from "../common/observability/log.js";

const INDEX_ENV = "AGENTGATE_PROXY_WORKER_INDEX";
/** A worker that dies this soon after its start is not restarted in a loop faster than this. */
const RESTART_DELAY_MS = 1_000;

/** What a worker tells the primary once it serves. */
export interface WorkerReady {
  readonly workerReady: true;
  readonly url: string;
  readonly proxyId: string;
}

/** In a worker: tells the primary it serves (the primary prints the one ready line). */
export function reportWorkerReady(url: string, proxyId: string): void {
  const message: WorkerReady = { workerReady: true, url, proxyId };
  process.send?.(message);
}

/** True in a worker process of worker mode. */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs the primary: forks the workers, restarts any that dies unexpectedly, resolves with the
 * URL once all serve, and on SIGTERM/SIGINT stops them all and exits.
 */
export async function runPrimary(config: ProxyConfig): Promise<{ url: string; workers: number }> {
  let stopping = false;
  const byIndex = new Map<number, Worker>();
  const fork = (index: number): Worker => {
    const worker = cluster.fork({ [INDEX_ENV]: String(index) });
    byIndex.set(index, worker);
    const startedAt = Date.now();
    worker.once("exit", (code, signal) => {
      if (byIndex.get(index) === worker) byIndex.delete(index);
      if (stopping) return;
      log.error("proxy worker died; starting it again on its folder", { worker: index, code, signal });
      setTimeout(() => {
        if (!stopping) fork(index);
      }, Math.max(0, RESTART_DELAY_MS - (Date.now() - startedAt))).unref();
    });
    return worker;
  };

  const ready = Promise.all(
    Array.from({ length: config.workers }, (_, index) =>
      new Promise<WorkerReady>((resolve, reject) => {
        const worker = fork(index);
        const onMessage = (m: unknown) => {
          if ((m as WorkerReady | undefined)?.workerReady) {
            worker.off("exit", onEarlyExit);
            resolve(m as WorkerReady);
          }
        };
        const onEarlyExit = (code: number | null) => reject(new Error(`proxy worker ${index} exited with ${code} before it served`));
        worker.on("message", onMessage);
        worker.once("exit", onEarlyExit);
      }),
    ),
  );

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      // Each worker stops within its own grace period; this is the backstop.
      setTimeout(() => process.exit(1), config.shutdownGraceMs + 20_000).unref();
      const exits = [...byIndex.values()].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once("exit", () => resolve()))));
      for (const w of byIndex.values()) w.process.kill("SIGTERM");
      void Promise.all(exits).then(() => process.exit(0));
    });
  }

  const workers = await ready.catch((err: unknown) => {
    stopping = true;
    for (const w of byIndex.values()) w.process.kill("SIGKILL");
    throw err;
  });
  log.info("proxy workers serving", { workers: workers.map((w) => w.proxyId) });
  return { url: workers[0]!.url, workers: workers.length };
}
