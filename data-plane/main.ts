#!/usr/bin/env node
import { loadProxyConfig } from "./config.js";
import { startProxy } from "./app.js";
import { exitOnStartupError } from "../common/observability/fatal.js";
import { log } from "../common/observability/log.js";
import { isWorker, reportWorkerReady, runPrimary } from "./workers.js";

/**
 * Entry point: configuration → proxy; stops cleanly on SIGINT/SIGTERM. With
 * AGENTGATE_PROXY_WORKERS > 1 this process is the primary of worker mode (workers.ts) and
 * each worker runs the proxy.
 */
process.env["AGENTGATE_COMPONENT"] ??= "proxy";
const config = await Promise.resolve().then(() => loadProxyConfig()).catch((err: unknown) => exitOnStartupError("proxy", err));
// A stray rejected promise in background work (a reconnect, a flush) is logged, not fatal:
// the process holds sessions in flight and a last good snapshot worth keeping up.
process.on("unhandledRejection", (reason) => log.error("unhandled rejection", { err: reason }));

if (config.workers > 1 && !isWorker()) {
  const primary = await runPrimary(config).catch((err: unknown) => exitOnStartupError("proxy", err));
  // One machine-readable line so launchers (npm start, tests) learn the bound port.
  process.stdout.write(JSON.stringify({ ready: "proxy", proxyId: config.proxyId, url: primary.url, workers: primary.workers }) + "\n");
} else {
  const proxy = await startProxy(config).catch((err: unknown) => exitOnStartupError("proxy", err));
  if (isWorker()) reportWorkerReady(proxy.url, config.proxyId);
  else process.stdout.write(JSON.stringify({ ready: "proxy", proxyId: config.proxyId, url: proxy.url }) + "\n");
  log.info("proxy ready", { url: proxy.url, proxyId: config.proxyId });
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // `on`, not `once`: a second signal (a worker gets the terminal's SIGINT and its primary's
    // SIGTERM) must not kill a stop in progress.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      // stop() is bounded (grace period, then cut); this is the backstop if something still hangs.
      setTimeout(() => process.exit(1), config.shutdownGraceMs + 15_000).unref();
      void proxy.stop().finally(() => process.exit(0));
    });
  }
}
