import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { bindGrpcService } from "../proto/grpc-adapter.js";
import { PolicyService } from "../proto/gen/agentgate/v1/policy_pb.js";
import { SessionService } from "../proto/gen/agentgate/v1/session_pb.js";
import { createSessionService } from "./grpc/session-service.js";
import { ApprovalService } from "../proto/gen/agentgate/v1/approval_pb.js";
import { createApprovalService } from "./grpc/approval-service.js";
import type { ControlPlaneConfig } from "./config.js";
import { openStore } from "./store/client.js";
import { SecretBox } from "./secrets.js";
import { SnapshotPublisher } from "./snapshot/publisher.js";
import { ProxyStatusRegistry } from "./snapshot/status.js";
import { persistProxyStatus } from "./snapshot/status-store.js";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { createSnapshotBuilder } from "./snapshot/incremental.js";
import { gatewayKeySource, keysFingerprint } from "./snapshot/gateway-keys.js";
import { bumpOnKeysChange, raiseKeyGeneration } from "./store/snapshot-version.js";
import { startSnapshotRefresher } from "./snapshot/refresher.js";
import { grpcServerTlsFromEnv, startGrpcServer } from "./grpc/server.js";
import { createPolicyService } from "./grpc/policy-service.js";
import { parsePolicyDocument } from "./policy-file/document.js";
import { applyPolicyDocument } from "./policy-file/apply.js";
import type { AdminDeps } from "./admin/deps.js";
import { BOOTSTRAP_FILE_ACTOR, principal } from "./auth/principal.js";
import { SCOPES } from "./auth/scopes.js";
import { authenticatedCaller, graphqlHandler } from "./http/graphql-handler.js";
import { createGraphqlModule } from "./graphql/module.js";
import { deleteSessionsBefore } from "./sessions/retention.js";
import { anchorKey } from "./sessions/anchors.js";
import type { GraphqlContext } from "./graphql/context.js";
import { log } from "../common/observability/log.js";
import { createConsoleServer } from "./console/server.js";
import { loadConsoleConfig } from "./console/config.js";
import { MetricsRegistry } from "../common/observability/metrics.js";
import { serveMetrics, startMetricsListener } from "../common/observability/metrics-endpoint.js";
import { approvalPageUrl, startNotifier } from "./notifications/notifier.js";

/** A running control plane. */
export interface ControlPlaneHandle {
  readonly httpUrl: string;
  readonly grpcAddress: string;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Starts the control plane: store (migrated), optional bootstrap policy file, snapshot
 * publisher fed from the database, gRPC for proxies, GraphQL and health over HTTP.
 */
export async function startControlPlane(config: ControlPlaneConfig): Promise<ControlPlaneHandle> {
  // The console's settings are checked first (a bad one fails the start); its links need our URL, known once listening.
  const consoleConfig = loadConsoleConfig();
  let httpUrl = "";
  const store = await openStore(config.databaseUrl);
  const secrets = config.secretKey ? SecretBox.fromBase64(config.secretKey) : SecretBox.fromKeyFile(join(config.dataDir, "secret.key"));
  if (config.bootstrapFile) {
    const doc = parsePolicyDocument(await readFile(config.bootstrapFile, "utf8"));
    // Through the same services as every write; the operator's file holds every scope. The
    // refresher below publishes the result, so no refresh is needed here.
    const deps: AdminDeps = { db: store.prisma, secrets, refreshSnapshot: async () => {}, allowHttpIssuers: config.allowHttpIssuers, credentialEnvAllow: config.credentialEnvAllow };
    const result = await applyPolicyDocument(deps, principal("bootstrap", BOOTSTRAP_FILE_ACTOR, SCOPES), doc);
    log.info("bootstrap policy applied", { file: config.bootstrapFile, version: String(result.version), changed: result.changes.filter((c) => c.action !== "unchanged").length });
  }


  const publisher = new SnapshotPublisher();
  const proxies = new ProxyStatusRegistry();
  // Shared through the database so every replica lists every proxy.
  const statusMirror = persistProxyStatus(store.prisma, proxies, `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`, { coalesceMs: STATUS_COALESCE_MS });
  const snapshotKeys = gatewayKeySource(secrets);
  // New key material (a higher key generation, or another secret key) is a new snapshot
  // version, so proxies get it without a policy change. The generation lives in the database:
  // replicas started with different AGENTGATE_GATEWAY_KEY_GENERATION all publish the highest.
  // Version 0 is "no snapshot" to proxies: a fresh install starts at 1 (these bumps, or the
  // line below) and serves its deny-all policy.
  if (await raiseKeyGeneration(store.prisma, config.gatewayKeyGeneration)) log.info("gateway key generation raised: new snapshot version", { generation: config.gatewayKeyGeneration });
  if (await bumpOnKeysChange(store.prisma, keysFingerprint(snapshotKeys(1)))) log.info("snapshot keys changed: new snapshot version");
  await store.prisma.snapshotVersion.updateMany({ where: { id: 1, version: 0n }, data: { version: 1n } });
  const refresher = startSnapshotRefresher({
    db: store.prisma,
    publisher,
    build: createSnapshotBuilder(store.prisma, store.provider, secrets, snapshotKeys),
    pollMs: config.snapshotPollMs,
    onError: (err) => log.error("snapshot refresh failed", { err }),
  });
  await refresher.refresh();

  const metrics = new MetricsRegistry();
  const ingested = metrics.counter("agentgate_cp_sessions_ingested_total", "Session records stored (resends included once)");
  metrics.gauge("agentgate_cp_snapshot_version", "Snapshot version being served", () => Number(publisher.current()?.version ?? 0n));
  metrics.gauge("agentgate_cp_proxies_connected", "Proxies with an open Watch stream", () => proxies.list().filter((p) => p.connected).length);
  metrics.gauge("agentgate_cp_proxy_acked_version", "Snapshot version each proxy last applied", () =>
    proxies.list().map((p): [Record<string, string>, number] => [{ proxy: p.proxyId }, Number(p.ackedVersion ?? 0n)]),
    ["proxy"],
  );

  const chainAnchors = anchorKey(secrets);
  // Retention runs hourly; deleting a prefix of each proxy's chain keeps it verifiable.
  const retention = config.retentionDays > 0
    ? setInterval(() => {
        deleteSessionsBefore(store.prisma, new Date(Date.now() - config.retentionDays * 86_400_000), chainAnchors)
          .then((n) => n > 0 && log.info("sessions deleted by retention", { count: n, days: config.retentionDays }))
          .catch((err) => log.error("retention failed", { err }));
      }, 3_600_000)
    : undefined;
  retention?.unref();

  const sessions = createSessionService({ db: store.prisma, provider: store.provider, anchors: chainAnchors, onStored: (ids) => ingested.inc({}, ids.length) });
  const grpc = await startGrpcServer({
    port: config.grpcPort,
    host: config.grpcHost,
    proxyToken: config.proxyTokens,
    tls: grpcServerTlsFromEnv(),
    allowInsecure: config.grpcInsecure,
    services: [
      bindGrpcService(PolicyService, createPolicyService({ publisher, status: proxies })),
      bindGrpcService(ApprovalService, createApprovalService({ db: store.prisma, requestTtlSeconds: config.approvalRequestTtlSeconds, onGrantSpent: () => void refresher.refresh().catch((err: unknown) => log.error("snapshot refresh after a spent grant failed", { err })), reviewUrl: (id) => (consoleConfig ? approvalPageUrl(consoleConfig.publicUrl ?? httpUrl, id) : "") })),
      bindGrpcService(SessionService, sessions),
    ],
  });

  const graphql = createGraphqlModule({
    db: store.prisma,
    provider: store.provider,
    publisher,
    proxies,
    secrets,
    refreshSnapshot: refresher.refresh,
    adminAuth: { bootstrapToken: config.adminBootstrapToken, allowHttpIssuers: config.allowHttpIssuers },
    credentialEnvAllow: config.credentialEnvAllow,
    approvalRequestTtlSeconds: config.approvalRequestTtlSeconds,
  });
  const apollo = new ApolloServer<GraphqlContext>({
    ...graphql.serverOptions,
    introspection: config.introspection,
    // main.ts owns shutdown: Apollo's own handler would re-raise the signal before gRPC and the DB close.
    stopOnTerminationSignals: false,
  });
  await apollo.start();
  const context = (req: IncomingMessage) => graphql.context(req);
  const serveGraphql = graphqlHandler(apollo, context, authenticatedCaller(context));
  const webConsole = createConsoleServer(consoleConfig, () => httpUrl);
  const notifier = startNotifier({ db: store.prisma, secret: process.env["AGENTGATE_WEBHOOK_SECRET"] || undefined, consoleUrl: () => consoleConfig?.publicUrl ?? httpUrl });

  const http = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/console" || path?.startsWith("/console/")) {
      webConsole.handle(req, res).catch((err) => {
        log.error("console request failed", { err });
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end("internal error");
      });
      return;
    }
    if (path === "/graphql") {
      const gate = webConsole.gateGraphql(req);
      if (gate.kind === "deny") {
        res.writeHead(403, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [{ message: gate.message, extensions: { code: "FORBIDDEN" } }] }));
        return;
      }
      serveGraphql(req, res).catch((err) => {
        log.error("graphql request failed", { err });
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [{ message: "internal error", extensions: { code: "INTERNAL" } }] }));
      });
      return;
    }
    if (path === "/metrics") return serveMetrics(req, res, metrics, config.metrics);
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "ok", snapshotVersion: String(publisher.current()?.version ?? 0n) }));
      return;
    }
    if (path === "/readyz") {
      // Ready = the database answers and a snapshot is being served.
      store.prisma.$queryRaw`SELECT 1`.then(
        () => {
          const ready = publisher.current() !== undefined;
          res.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
          res.end(JSON.stringify({ ready, snapshotVersion: String(publisher.current()?.version ?? 0n) }));
        },
        () => {
          res.writeHead(503, { "content-type": "application/json" });
          res.end(JSON.stringify({ ready: false, error: "database unavailable" }));
        },
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "no such endpoint" } }));
  });
  const httpPort = await listen(http, config.httpPort, config.host);
  httpUrl = `http://${config.host}:${httpPort}`;
  const metricsListener = await startMetricsListener(metrics, config.metrics);

  let stopping: Promise<void> | undefined;
  return {
    httpUrl: `http://${config.host}:${httpPort}`,
    grpcAddress: grpc.address,
    // Bounded (see STOP_GRACE_MS): nothing here waits on a client or a query for ever.
    stop: () =>
      (stopping ??= (async () => {
        refresher.stop();
        notifier.stop();
        statusMirror.stop();
        if (retention) clearInterval(retention);
        // HTTP: no new connections; idle keep-alive ones close now, busy ones are cut after the grace.
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        metricsListener?.close();
        metricsListener?.closeAllConnections();
        // gRPC: Report streams end once their batches in progress are answered; whatever is
        // not answered within the grace is abandoned (the proxies keep it and resend it).
        const grpcStopped = grpc.stop(STOP_GRACE_MS);
        await sessions.close(STOP_GRACE_MS);
        await within(httpClosed, STOP_GRACE_MS, "HTTP connections", () => http.closeAllConnections());
        await grpcStopped;
        await within(apollo.stop(), STOP_GRACE_MS, "GraphQL server");
        // Closing the database waits for the queries in progress; one that does not finish
        // (measured: Prisma's $disconnect never returned when stopped with queries in flight,
        // bench/ingest.bench.ts outage scenario) is abandoned; the process exits anyway.
        await within(store.close(), STOP_DB_MS, "database connections");
      })()),
  };
}

/** Proxy status changes are mirrored to the database this long after the first (acks of one policy change: one write per proxy, after the fan-out). */
const STATUS_COALESCE_MS = 250;
/** Longest wait for each step of `stop` that depends on peers (in-flight batches, HTTP requests). */
const STOP_GRACE_MS = 1_000;
/** Longest wait for the database connections to close at `stop`. */
const STOP_DB_MS = 2_000;

/** Waits for `step` at most `ms`; a step that fails or takes longer is logged and left behind. */
async function within(step: Promise<unknown>, ms: number, what: string, onTimeout?: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), ms)));
  const outcome = await Promise.race([step.then(() => "done" as const, (err: unknown) => (log.warn(`stop: ${what} failed`, { err }), "done" as const)), expired]);
  clearTimeout(timer);
  if (outcome === "expired") {
    log.warn(`stop: ${what} not closed within ${ms} ms; abandoned`);
    onTimeout?.();
  }
}
