import { hostname } from "node:os";
import { join } from "node:path";
import type { HttpAllowance } from "./identity/url-policy.js";

/** A proxy's settings, read once from the environment and frozen. */
export interface ProxyConfig {
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
  if (problems.length) throw new ProxyConfigError(problems);
  return Object.freeze({
    proxyId,
    host,
    port,
    controlPlane: env["AGENTGATE_CONTROL_PLANE"] ?? "127.0.0.1:4001",
    proxyToken,
    connection: env["AGENTGATE_CONNECTION"] || undefined,
    dataDir: env["AGENTGATE_DATA_DIR"] ?? join(process.cwd(), ".agentgate", proxyId),
    maxBodyBytes,
    redisUrl: env["AGENTGATE_REDIS_URL"] || env["REDIS_URL"] || undefined,
    allowHttpIssuers: allowHttp,
    advertisedAddress: env["AGENTGATE_ADVERTISED_ADDRESS"] ?? `${host}:${port}`,
    spoolMaxBytes,
  });
}
