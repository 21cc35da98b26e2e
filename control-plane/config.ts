import { join } from "node:path";
import type { HttpAllowance } from "../common/identity/index.js";
import { parseCredentialEnvAllow } from "./admin/credential-env.js";
import { metricsAccessFromEnv, type MetricsAccess } from "../common/observability/metrics-endpoint.js";
import { BOOTSTRAP_TOKEN_SHAPE, MIN_BOOTSTRAP_TOKEN_LENGTH } from "./auth/authenticator.js";
import { MAX_KEY_GENERATION } from "./admin/gateway-keys.js";
import { DEFAULT_APPROVAL_REQUEST_TTL_SECONDS } from "./approvals/service.js";

/** The control plane's settings, read once from the environment and frozen. */
export interface ControlPlaneConfig {
  /** Who may read /metrics (AGENTGATE_METRICS_PORT/HOST/TOKEN). */
  readonly metrics: MetricsAccess;
  readonly databaseUrl: string | undefined;
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly grpcHost: string;
  /** Bearer tokens proxies must present (several allow rotation). */
  readonly proxyTokens: readonly string[];
  /** Base64 32-byte key for credentials at rest; else a key file is created under dataDir. */
  readonly secretKey: string | undefined;
  readonly dataDir: string;
  /** A policy file applied at start (idempotent), e.g. the demo's. */
  readonly bootstrapFile: string | undefined;
  readonly snapshotPollMs: number;
  readonly introspection: boolean;
  /** Sessions older than this many days are deleted (0 = keep forever). */
  readonly retentionDays: number;
  /** Plaintext gRPC on a non-loopback interface (a private container network only). */
  readonly grpcInsecure: boolean;
  /**
   * AGENTGATE_ADMIN_BOOTSTRAP_TOKEN: a bearer token with every admin scope, so a fresh
   * install can be administered before any identity provider or API token exists
   * (e.g. `openssl rand -hex 32`). Unset: no such token.
   */
  readonly adminBootstrapToken: string | undefined;
  /** AGENTGATE_ALLOW_HTTP_ISSUERS: plain-http identity providers for admin sign-in (dev: "loopback"). */
  readonly allowHttpIssuers: HttpAllowance;
  /** AGENTGATE_CREDENTIAL_ENV_ALLOW: variable names a policy file's credentialEnv may read besides AGENTGATE_UPSTREAM_*. */
  readonly credentialEnvAllow: readonly string[];
  /** AGENTGATE_APPROVAL_REQUEST_TTL_SECONDS: a request still pending this long expires (default 24 h). */
  readonly approvalRequestTtlSeconds: number;
  /** AGENTGATE_GATEWAY_KEY_GENERATION: current generation of the gateway keys (owner tags, pseudonyms); raise it to rotate. */
  readonly gatewayKeyGeneration: number;
}

/** Thrown with every configuration problem at once (fail fast, habit 7). */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n- ${problems.join("\n- ")}`);
    this.name = "ConfigError";
  }
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) problems.push(`${name} must be a port number (0-65535)`);
  return n;
}

/** AGENTGATE_GRAPHQL_INTROSPECTION: true/false; unset: on, except off with NODE_ENV=production. */
function introspectionSetting(env: NodeJS.ProcessEnv, problems: string[]): boolean {
  const raw = env["AGENTGATE_GRAPHQL_INTROSPECTION"];
  if (raw === undefined || raw === "") return env["NODE_ENV"] !== "production";
  if (raw !== "true" && raw !== "false") problems.push("AGENTGATE_GRAPHQL_INTROSPECTION must be true or false");
  return raw === "true";
}

/** Reads AGENTGATE_* variables (see README "Configuration"). */
export function loadControlPlaneConfig(env: NodeJS.ProcessEnv = process.env): ControlPlaneConfig {
  const problems: string[] = [];
  const proxyTokens = (env["AGENTGATE_PROXY_TOKEN"] ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  if (proxyTokens.length === 0) problems.push("AGENTGATE_PROXY_TOKEN is required (the bearer token proxies use; ≥ 16 characters)");
  if (proxyTokens.some((t) => t.length < 16)) problems.push("AGENTGATE_PROXY_TOKEN values must be at least 16 characters");
  const pollMs = Number(env["AGENTGATE_SNAPSHOT_POLL_MS"] ?? 500);
  if (!Number.isFinite(pollMs) || pollMs < 50) problems.push("AGENTGATE_SNAPSHOT_POLL_MS must be ≥ 50");
  const retentionDays = Number(env["AGENTGATE_RETENTION_DAYS"] ?? 0);
  if (!Number.isFinite(retentionDays) || retentionDays < 0) problems.push("AGENTGATE_RETENTION_DAYS must be a number ≥ 0 (0 keeps sessions forever)");
  const bootstrapToken = env["AGENTGATE_ADMIN_BOOTSTRAP_TOKEN"] || undefined;
  if (bootstrapToken !== undefined && (bootstrapToken.length < MIN_BOOTSTRAP_TOKEN_LENGTH || !BOOTSTRAP_TOKEN_SHAPE.test(bootstrapToken))) {
    problems.push(`AGENTGATE_ADMIN_BOOTSTRAP_TOKEN must be at least ${MIN_BOOTSTRAP_TOKEN_LENGTH} characters of A-Z a-z 0-9 _ . - (e.g. openssl rand -hex 32)`);
  }
  const allowHttpIssuers = (env["AGENTGATE_ALLOW_HTTP_ISSUERS"] || "never") as HttpAllowance;
  if (!["never", "loopback", "any"].includes(allowHttpIssuers)) problems.push("AGENTGATE_ALLOW_HTTP_ISSUERS must be never, loopback or any");
  const gatewayKeyGeneration = Number(env["AGENTGATE_GATEWAY_KEY_GENERATION"] || 1);
  if (!Number.isInteger(gatewayKeyGeneration) || gatewayKeyGeneration < 1 || gatewayKeyGeneration > MAX_KEY_GENERATION) problems.push(`AGENTGATE_GATEWAY_KEY_GENERATION must be an integer from 1 to ${MAX_KEY_GENERATION}`);
  const approvalRequestTtlSeconds = Number(env["AGENTGATE_APPROVAL_REQUEST_TTL_SECONDS"] || DEFAULT_APPROVAL_REQUEST_TTL_SECONDS);
  if (!Number.isInteger(approvalRequestTtlSeconds) || approvalRequestTtlSeconds < 60 || approvalRequestTtlSeconds > 30 * 86_400) problems.push("AGENTGATE_APPROVAL_REQUEST_TTL_SECONDS must be an integer from 60 to 2592000 (30 days)");
  const config: ControlPlaneConfig = {
    databaseUrl: env["DATABASE_URL"] || undefined,
    host: env["AGENTGATE_CP_HOST"] ?? "127.0.0.1",
    httpPort: port(env, "AGENTGATE_CP_HTTP_PORT", 4000, problems),
    grpcHost: env["AGENTGATE_CP_GRPC_HOST"] ?? env["AGENTGATE_CP_HOST"] ?? "127.0.0.1",
    grpcPort: port(env, "AGENTGATE_CP_GRPC_PORT", 4001, problems),
    proxyTokens,
    secretKey: env["AGENTGATE_SECRET_KEY"] || undefined,
    dataDir: env["AGENTGATE_DATA_DIR"] ?? join(process.cwd(), ".agentgate"),
    bootstrapFile: env["AGENTGATE_BOOTSTRAP_FILE"] || undefined,
    snapshotPollMs: pollMs,
    introspection: introspectionSetting(env, problems),
    retentionDays,
    grpcInsecure: env["AGENTGATE_GRPC_INSECURE"] === "1" || env["AGENTGATE_GRPC_INSECURE"] === "true",
    adminBootstrapToken: bootstrapToken,
    allowHttpIssuers,
    gatewayKeyGeneration,
    credentialEnvAllow: parseCredentialEnvAllow(env["AGENTGATE_CREDENTIAL_ENV_ALLOW"]),
    approvalRequestTtlSeconds,
    metrics: metricsAccessFromEnv(env, problems),
  };
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(config);
}
