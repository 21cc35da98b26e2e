import { join } from "node:path";
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { ProxyConfig } from "./config.js";
import { SnapshotStore } from "./policy/snapshot-store.js";
import { proxyStateCompiler } from "./policy/proxy-state.js";
import type { ProxyServices, ProxyState } from "./pipeline/context.js";
import { openSpool, type Reservation, type Spool } from "./sync/spool.js";
import { startReporter } from "./sync/report-client.js";
import { buildSessionRecord } from "./recording/session-record.js";
import { IntentJournal, PROXY_CRASHED } from "./recording/intent-journal.js";
import { changesState } from "../common/langgraph/routes.js";
import type { SessionRecord } from "../proto/gen/agentgate/v1/session_pb.js";
import { createLimiter } from "./limits/limiter.js";
import { RunTracker } from "./limits/run-tracker.js";
import { createApprovalClient } from "./sync/approval-client.js";
import { UpstreamPools } from "./upstream/pools.js";
import { LRUCache } from "lru-cache";
import { startWatch } from "./sync/watch-client.js";
import { createProxyServer } from "./http/server.js";
import { log } from "../common/observability/log.js";
import { MetricsRegistry } from "../common/observability/metrics.js";
import { stageTimings } from "../common/observability/stage-timings.js";
import { serveMetrics, startMetricsListener } from "../common/observability/metrics-endpoint.js";

/** A running proxy. */
export interface ProxyHandle {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts a proxy: last good snapshot from disk (so it serves even when the control plane
 * is down), the Watch stream for new ones, and the HTTP front running the pipeline.
 */
export async function startProxy(config: ProxyConfig): Promise<ProxyHandle> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = new SnapshotStore<ProxyState>({
    compile: proxyStateCompiler({ allowHttp: config.allowHttpIssuers }),
    diskPath: join(config.dataDir, "snapshot.bin"),
  });
  const loaded = await store.loadFromDisk();
  log.info("snapshot from disk", { outcome: loaded.kind, ...(loaded.kind === "loaded" ? { version: String(loaded.version) } : {}) });

  // Records go to the local spool first (durable before the response completes), then
  // to the control plane; a full spool refuses new requests rather than lose records.
  const spool = await openSpool({ dir: join(config.dataDir, "spool"), maxBytes: config.spoolMaxBytes, groupCommitMs: config.readCommitWindowMs });
  // State-changing exchanges are written ahead; those a crash cut are recorded now.
  const { journal, orphans } = await IntentJournal.open({ dir: join(config.dataDir, "spool") }, (id) => spool.holds(id));
  const recordOrphans = recordCrashCut(spool, journal, orphans);

  const limiter = createLimiter(
    config.redisUrl
      ? { redisUrl: config.redisUrl, keyPrefix: config.redisKeyPrefix, onRedisError: config.redisFailureMode, commandTimeoutMs: config.redisTimeoutMs, fleetSize: config.fleetSize }
      : {},
  );
  const services: ProxyServices = {
    proxyId: config.proxyId,
    pools: new UpstreamPools(),
    assistantGraphs: new LRUCache<string, string>({ max: 10_000, ttl: 60_000 }), // assistant → graph, read from the upstream
    maxBodyBytes: config.maxBodyBytes,
    defaultConnection: config.connection,
    limiter,
    runTracker: new RunTracker({ maxRunMs: config.maxRunMs }),
    approvals: createApprovalClient({
      address: config.controlPlane,
      proxyId: config.proxyId,
      proxyToken: config.proxyToken,
      ...(config.controlPlaneTls ? { tls: config.controlPlaneTls } : {}),
      allowInsecure: config.grpcInsecure,
    }),
  };

  const metrics = new MetricsRegistry();
  metrics.register(stageTimings);
  const exchanges = metrics.counter("agentgate_proxy_requests_total", "Proxied exchanges by decision, operation and status", ["decision", "operation", "status"]);
  const durations = metrics.histogram("agentgate_proxy_request_duration_seconds", "Time from request to the end of the response", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ["decision"]);
  metrics.gauge("agentgate_proxy_snapshot_version", "Snapshot version in force", () => Number(store.current()?.version ?? 0n));
  metrics.gauge("agentgate_proxy_control_plane_connected", "1 while the Watch stream is up", () => (watch.status().connected ? 1 : 0));
  metrics.gauge("agentgate_proxy_spool_pending_records", "Session records not yet acknowledged by the control plane", () => spool.stats().pendingCount);
  metrics.gauge("agentgate_proxy_spool_fill_ratio", "Fraction of the spool's bound in use (reservations included)", () => spool.stats().fillRatio);
  metrics.gauge("agentgate_proxy_spool_reserved_bytes", "Spool bytes reserved for the records of exchanges in progress", () => spool.stats().reservedBytes);
  metrics.gauge("agentgate_proxy_spool_free_bytes", "Spool bytes neither used nor reserved", () => spool.stats().freeBytes);
  metrics.gauge("agentgate_proxy_runs_followed", "Background runs followed until they end upstream (their slots are held)", () => services.runTracker.active);
  metrics.gauge("agentgate_proxy_limiter_degraded", "1 while Redis cannot answer and limit decisions follow the failure mode", () => (limiter.stats().degraded ? 1 : 0));
  metrics.gauge("agentgate_proxy_limiter_failure_mode", "The configured Redis failure mode (1 on the mode in force; none without Redis)", () => [[{ mode: limiter.stats().failureMode }, 1]], ["mode"]);
  metrics.gauge("agentgate_proxy_limiter_degraded_decisions", "Limit decisions made without Redis since start (per the failure mode)", () => limiter.stats().degradedDecisions);
  metrics.gauge("agentgate_proxy_limiter_redis_errors", "Redis commands that failed or timed out since start", () => limiter.stats().redisErrors);

  const server = createProxyServer({
    services,
    state: () => store.current()?.compiled,
    record: async (ctx, ticket) => {
      const durability = config.readCommit === "group" && !changesState(ctx.route?.route.operation ?? "") ? "written" : "fsync";
      await spool.append(buildSessionRecord(ctx, config.proxyId), { reservation: ticket as Reservation | undefined, durability });
      journal.end(ctx.req.id); // synchronously, right after the append (see intent-journal.ts)
      // Bound children: no label object built or hashed per request (metrics.ts).
      exchanges.labels(ctx.record.decision, ctx.route?.route.operation ?? "unknown", String(ctx.record.status)).inc();
      durations.labels(ctx.record.decision).observe((Date.now() - ctx.req.startedAt) / 1000);
    },
    admit: () => {
      try {
        return { ticket: spool.reserve() };
      } catch {
        return { refused: "SPOOL_FULL" }; // full, failed or closing: this exchange could not be recorded
      }
    },
    beforeForward: (ctx) => {
      if (config.writeAhead === "off" || !changesState(ctx.route?.route.operation ?? "")) return undefined;
      const provisional = buildSessionRecord(ctx, config.proxyId);
      provisional.decision = "allow";
      provisional.errorCode = PROXY_CRASHED;
      return journal.begin(provisional);
    },
    metrics: (req, res) => serveMetrics(req, res, metrics, config.metrics),
    health: (path) => {
      if (path === "/healthz") return { status: 200, contentType: "application/json", body: JSON.stringify({ status: "ok" }) };
      if (path === "/readyz") {
        const current = store.current();
        const sync = watch.status();
        const spooled = spool.stats();
        const limits = limiter.stats();
        const warnings = spooled.fillRatio >= 0.8 ? ["session spool is over 80% full"] : [];
        if (limits.degraded) warnings.push(`Redis unavailable: limits follow ${limits.failureMode}`);
        const body = JSON.stringify({
          ready: current !== undefined && spooled.accepting,
          snapshotVersion: current ? String(current.version) : null,
          controlPlaneConnected: sync.connected,
          lastError: sync.lastError,
          spool: { pending: spooled.pendingCount, fillRatio: spooled.fillRatio, accepting: spooled.accepting },
          limits: {
            backend: limits.backend,
            failureMode: limits.failureMode,
            degraded: limits.degraded,
            fleetSize: config.fleetSize,
            runsFollowed: services.runTracker.active,
          },
          warnings,
        });
        // Not ready when a new exchange could not be recorded: a balancer sends it elsewhere.
        return { status: current && spooled.accepting ? 200 : 503, contentType: "application/json", body };
      }
      return undefined;
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host}:${port}`;
  const metricsListener = await startMetricsListener(metrics, config.metrics);

  const watch = startWatch({
    address: config.controlPlane,
    proxyId: config.proxyId,
    proxyToken: config.proxyToken,
    advertisedAddress: config.port === 0 ? `${config.host}:${port}` : config.advertisedAddress,
    ...(config.controlPlaneTls ? { tls: config.controlPlaneTls } : {}),
    allowInsecure: config.grpcInsecure,
    store,
  });
  const reporter = startReporter({
    address: config.controlPlane,
    proxyId: config.proxyId,
    proxyToken: config.proxyToken,
    spool,
    ...(config.controlPlaneTls ? { tls: config.controlPlaneTls } : {}),
    allowInsecure: config.grpcInsecure,
    batchSize: 200,
    flushIntervalMs: 100,
  });

  return {
    url,
    /**
     * Graceful shutdown, bounded: stop accepting and close idle keep-alive connections at
     * once (and each one as it goes idle); give exchanges in flight `shutdownGraceMs` to
     * finish; then cut the rest, client and upstream side, and wait for their records
     * (recorded as cut); then flush the spool to the control plane (at most 2 s: what is
     * left stays in the spool for the next start).
     */
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      if (!(await server.exchangesDone(config.shutdownGraceMs))) {
        log.warn("shutdown: cutting exchanges still in flight", { count: server.exchangesInFlight() });
        server.closeAllConnections();
        await services.pools.destroy();
        await server.exchangesDone(5_000);
      }
      clearInterval(sweep);
      server.closeAllConnections();
      metricsListener?.close();
      metricsListener?.closeAllConnections();
      await closed;
      await watch.stop();
      await reporter.flush(2_000);
      await reporter.stop();
      await services.pools.close();
      await services.runTracker.close();
      await services.limiter.close();
      services.approvals.close();
      await recordOrphans.stop();
      await spool.close();
      // Last: an exchange whose record was appended above still closes its entry; one that
      // could not be recorded any more stays open and is recorded as cut on the next start.
      await journal.close();
    },
  };
}

/**
 * Appends the records of exchanges a crash cut (forwarded, never recorded) and closes their
 * journal entries. A full spool is retried every second until they fit: they are never dropped.
 */
function recordCrashCut(spool: Spool, journal: IntentJournal, orphans: SessionRecord[]): { stop(): Promise<void> } {
  if (orphans.length > 0) log.warn("recording exchanges cut by a proxy crash", { count: orphans.length });
  let left = orphans;
  let stopped = false;
  const attempt = async (): Promise<void> => {
    const failed: SessionRecord[] = [];
    for (const record of left) {
      try {
        await spool.append(record);
        journal.end(record.id);
      } catch (err) {
        failed.push(record);
        log.error("crash-cut record not stored yet; retrying", { requestId: record.requestId, err });
      }
    }
    left = failed;
  };
  let running = attempt();
  const timer = setInterval(() => {
    if (left.length === 0 || stopped) return clearInterval(timer);
    running = running.then(attempt);
  }, 1_000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
