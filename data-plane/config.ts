import { availableParallelism, hostname } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import type { HttpAllowance } from "../common/identity/url-policy.js";
import type { TlsFiles } from "../proto/grpc-adapter.js";
import type { RedisErrorMode } from "./limits/limiter.js";
import { metricsAccessFromEnv, type MetricsAccess } from "../common/observability/metrics-endpoint.js";

const REDIS_FAILURE_MODES: readonly RedisErrorMode[] = ["fail-closed", "local-fallback", "fail-open"];

/** AGENTGATE_CONTROL_PLANE_{CA,CERT,KEY}_FILE → TLS material; undefined when none is set. */
function controlPlaneTls(env: NodeJS.ProcessEnv, problems: string[]): TlsFiles | undefined {
  const ca = env["AGENTGATE_CONTROL_PLANE_CA_FILE"];
  const cert = env["AGENTGATE_CONTROL_PLANE_CERT_FILE"];
  const key = env["AGENTGATE_CONTROL_PLANE_KEY_FILE"];
  if (!ca && !cert && !key) return undefined;
  if (!cert !== !key) problems.push("AGENTGATE_CONTROL_PLANE_CERT_FILE and AGENTGATE_CONTROL_PLANE_KEY_FILE must be set together");
  try {
    return { ...(ca ? { ca: readFileSync(ca) } : {}), ...(cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : {}) };
  } catch (e) {
    problems.push(`control plane TLS files: ${(e as Error).message}`);
    return undefined;
  }
}

/** A proxy's settings, read once from the environment and frozen. */
export interface ProxyConfig {
  /** Who may read /metrics (AGENTGATE_METRICS_PORT/HOST/TOKEN). */
  readonly metrics: MetricsAccess;
  readonly proxyId: string;
  readonly host: string;
  readonly port: number;
  /** Control plane gRPC address ("host:port"). */
  readonly controlPlane: string;
  readonly proxyToken: string;
  /** Default upstream connection name when requests carry no /c/{name} prefix. */
  readonly connection: string | undefined;
  /** Last good snapshot and session spool live here. */
  readonly dataDir: string;
  readonly maxBodyBytes: number;
  readonly redisUrl: string | undefined;
  /** Plain-http identity providers: "loopback" for local development. */
  readonly allowHttpIssuers: HttpAllowance;
  readonly advertisedAddress: string;
  /** Upper bound of the session spool on disk; when full, new requests get 503. */
  readonly spoolMaxBytes: number;
  /** TLS to the control plane: CA bundle, and a client certificate for mTLS. */
  readonly controlPlaneTls: TlsFiles | undefined;
  /** What a Redis failure or timeout means for limit decisions. */
  readonly redisFailureMode: RedisErrorMode;
  /** Per-command Redis timeout. */
  readonly redisTimeoutMs: number;
  /** Processes sharing the limits: AGENTGATE_FLEET_SIZE proxies × their workers (local-fallback enforces a 1/N share). */
  readonly fleetSize: number;
  /** Longest a run holds its concurrency slot and cost reservation (background runs, abandoned streams). */
  readonly maxRunMs: number;
  /** Plaintext gRPC to a non-loopback control plane (a private container network only). */
  readonly grpcInsecure: boolean;
  /** On SIGTERM, how long exchanges in flight may finish before they are cut (and recorded as cut). */
  readonly shutdownGraceMs: number;
  /**
   * Which exchanges are written ahead before forwarding (recording/intent-journal.ts):
   * "state-changing" (default: a crash mid-run still leaves its record) or "off" (saves one
   * fdatasync before a run is forwarded; a proxy crash mid-exchange loses that exchange's record).
   */
  readonly writeAhead: "state-changing" | "off";
  /**
   * When a plain read's record (reads, searches, history, denials of them) is durable before
   * its answer ends: "strict" (default: fdatasynced) or "group" (written to the OS, which a
   * kill -9 of the proxy cannot undo, and fdatasynced within readCommitWindowMs together with
   * the other reads of that window; only a host crash inside the window can lose it).
   * State-changing exchanges are always fdatasynced first.
   */
  readonly readCommit: "strict" | "group";
  readonly readCommitWindowMs: number;
  /** Worker processes serving the port (AGENTGATE_PROXY_WORKERS: N or `auto`, one per core); 1 = this process serves. */
  readonly workers: number;
  /**
   * Set in a worker of worker mode: its index. The worker is a proxy of its own for recording
   * (id `<proxy id>.w<index>`, its own data folder `<data dir>/worker-<index>`: spool, chain, snapshot copy).
   */
  readonly workerIndex: number | undefined;
  /** Prefix of the limit keys in Redis. */
  readonly redisKeyPrefix: string;
}

/** AGENTGATE_PROXY_WORKERS: a count, or `auto` (one per core). */
function workerCount(raw: string | undefined, problems: string[]): number {
  if (raw === undefined || raw === "") return 1;
  const n = raw === "auto" ? availableParallelism() : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) problems.push("AGENTGATE_PROXY_WORKERS must be auto or an integer from 1 to 256");
  return n;
}

/** Every configuration problem at once (fail fast). */
export class ProxyConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n- ${problems.join("\n- ")}`);
    this.name = "ProxyConfigError";
  }
}

/** Reads AGENTGATE_* variables (see README "Configuration"). */
export function loadProxyConfig(env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const problems: string[] = [];
  const proxyId = env["AGENTGATE_PROXY_ID"] ?? `proxy-${hostname()}`;
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(proxyId)) problems.push("AGENTGATE_PROXY_ID must be 1-128 characters of [A-Za-z0-9._:-]");
  const port = Number(env["AGENTGATE_PROXY_PORT"] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push("AGENTGATE_PROXY_PORT must be a port number");
  const proxyToken = env["AGENTGATE_PROXY_TOKEN"] ?? "";
  if (proxyToken.length < 16) problems.push("AGENTGATE_PROXY_TOKEN is required (≥ 16 characters, shared with the control plane)");
  const maxBodyBytes = Number(env["AGENTGATE_MAX_BODY_BYTES"] ?? 1 << 20);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) problems.push("AGENTGATE_MAX_BODY_BYTES must be an integer ≥ 1024");
  const allowHttp = (env["AGENTGATE_ALLOW_HTTP_ISSUERS"] ?? "never") as HttpAllowance;
  if (!["never", "loopback", "any"].includes(allowHttp)) problems.push("AGENTGATE_ALLOW_HTTP_ISSUERS must be never, loopback or any");
  const host = env["AGENTGATE_PROXY_HOST"] ?? "127.0.0.1";
  const spoolMaxBytes = Number(env["AGENTGATE_SPOOL_MAX_BYTES"] ?? 1 << 30);
  if (!Number.isSafeInteger(spoolMaxBytes) || spoolMaxBytes < 1 << 20) problems.push("AGENTGATE_SPOOL_MAX_BYTES must be an integer ≥ 1048576");
  const maxRunMs = Number(env["AGENTGATE_MAX_RUN_SECONDS"] ?? 3600) * 1000;
  if (!Number.isSafeInteger(maxRunMs) || maxRunMs < 1000) problems.push("AGENTGATE_MAX_RUN_SECONDS must be an integer ≥ 1");
  const shutdownGraceMs = Number(env["AGENTGATE_SHUTDOWN_GRACE_SECONDS"] ?? 10) * 1000;
  if (!Number.isSafeInteger(shutdownGraceMs) || shutdownGraceMs < 0) problems.push("AGENTGATE_SHUTDOWN_GRACE_SECONDS must be an integer ≥ 0");
  const redisFailureMode = (env["AGENTGATE_REDIS_FAILURE_MODE"] || "fail-closed") as RedisErrorMode;
  if (!REDIS_FAILURE_MODES.includes(redisFailureMode)) problems.push(`AGENTGATE_REDIS_FAILURE_MODE must be one of ${REDIS_FAILURE_MODES.join(", ")}`);
  const redisTimeoutMs = Number(env["AGENTGATE_REDIS_TIMEOUT_MS"] ?? 100);
  if (!Number.isInteger(redisTimeoutMs) || redisTimeoutMs < 1 || redisTimeoutMs > 10_000) problems.push("AGENTGATE_REDIS_TIMEOUT_MS must be an integer from 1 to 10000");
  const fleetSize = Number(env["AGENTGATE_FLEET_SIZE"] ?? 1);
  if (!Number.isInteger(fleetSize) || fleetSize < 1 || fleetSize > 10_000) problems.push("AGENTGATE_FLEET_SIZE must be an integer from 1 to 10000");
  const writeAhead = (env["AGENTGATE_WRITE_AHEAD"] || "state-changing") as ProxyConfig["writeAhead"];
  if (writeAhead !== "state-changing" && writeAhead !== "off") problems.push("AGENTGATE_WRITE_AHEAD must be state-changing or off");
  const readCommit = (env["AGENTGATE_READ_COMMIT"] || "strict") as ProxyConfig["readCommit"];
  if (readCommit !== "strict" && readCommit !== "group") problems.push("AGENTGATE_READ_COMMIT must be strict or group");
  const readCommitWindowMs = Number(env["AGENTGATE_READ_COMMIT_WINDOW_MS"] || 5);
  if (!Number.isInteger(readCommitWindowMs) || readCommitWindowMs < 1 || readCommitWindowMs > 1000) problems.push("AGENTGATE_READ_COMMIT_WINDOW_MS must be an integer from 1 to 1000");
  const workers = workerCount(env["AGENTGATE_PROXY_WORKERS"], problems);
  const rawIndex = env["AGENTGATE_PROXY_WORKER_INDEX"];
  const workerIndex = rawIndex === undefined || rawIndex === "" ? undefined : Number(rawIndex);
  if (workerIndex !== undefined && !(Number.isInteger(workerIndex) && workerIndex >= 0 && workerIndex < workers)) problems.push("AGENTGATE_PROXY_WORKER_INDEX must be an integer below AGENTGATE_PROXY_WORKERS");
  const redisUrl = env["AGENTGATE_REDIS_URL"] || env["REDIS_URL"] || undefined;
  // Each worker is a process with its own counters: limits must be shared through Redis, or a
  // host with N workers would allow N times every limit.
  if (workers > 1 && !redisUrl) problems.push("AGENTGATE_PROXY_WORKERS > 1 needs AGENTGATE_REDIS_URL (the workers share limits through Redis)");
  const tls = controlPlaneTls(env, problems);
  const metrics = metricsAccessFromEnv(env, problems);
  if (problems.length) throw new ProxyConfigError(problems);
  const dataDir = env["AGENTGATE_DATA_DIR"] ?? join(process.cwd(), ".agentgate", proxyId);
  return Object.freeze({
    metrics,
    controlPlaneTls: tls,
    grpcInsecure: env["AGENTGATE_GRPC_INSECURE"] === "1" || env["AGENTGATE_GRPC_INSECURE"] === "true",
    proxyId: workerIndex === undefined ? proxyId : `${proxyId}.w${workerIndex}`,
    host,
    port,
    controlPlane: env["AGENTGATE_CONTROL_PLANE"] ?? "127.0.0.1:4001",
    proxyToken,
    connection: env["AGENTGATE_CONNECTION"] || undefined,
    dataDir: workerIndex === undefined ? dataDir : join(dataDir, `worker-${workerIndex}`),
    maxBodyBytes,
    redisUrl,
    redisKeyPrefix: env["AGENTGATE_REDIS_KEY_PREFIX"] || "agentgate:limits:",
    allowHttpIssuers: allowHttp,
    advertisedAddress: env["AGENTGATE_ADVERTISED_ADDRESS"] ?? `${host}:${port}`,
    spoolMaxBytes,
    maxRunMs,
    shutdownGraceMs,
    writeAhead,
    readCommit,
    readCommitWindowMs,
    redisFailureMode,
    redisTimeoutMs,
    // local-fallback: every worker of every proxy takes its share
    fleetSize: fleetSize * workers,
    workers,
    workerIndex,
  });
}
