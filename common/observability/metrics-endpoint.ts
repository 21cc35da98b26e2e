/**
 * Who may read /metrics, for both planes. Metrics name identities' graphs, rates and the
 * fleet's state, so they are not served to the world on a plane's public port:
 * - AGENTGATE_METRICS_PORT set: served on that separate listener only (AGENTGATE_METRICS_HOST,
 *   default 127.0.0.1), never on the public port;
 * - AGENTGATE_METRICS_TOKEN set: every scrape needs `Authorization: Bearer <token>`;
 * - neither: served on the public port to loopback callers only.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { METRICS_CONTENT_TYPE, type MetricsRegistry } from "./metrics.js";
import { log } from "./log.js";

export interface MetricsAccess {
  /** A separate listener for /metrics; the public port then does not serve it. */
  readonly port: number | undefined;
  readonly host: string;
  /** Bearer token scrapes must present (never logged). */
  readonly token: string | undefined;
}

/** AGENTGATE_METRICS_{PORT,HOST,TOKEN} → access rules; problems are appended. */
export function metricsAccessFromEnv(env: NodeJS.ProcessEnv, problems: string[]): MetricsAccess {
  const rawPort = env["AGENTGATE_METRICS_PORT"];
  const port = rawPort === undefined || rawPort === "" ? undefined : Number(rawPort);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) problems.push("AGENTGATE_METRICS_PORT must be a port number");
  const token = env["AGENTGATE_METRICS_TOKEN"] || undefined;
  if (token !== undefined && token.length < 16) problems.push("AGENTGATE_METRICS_TOKEN must be at least 16 characters");
  return { port, host: env["AGENTGATE_METRICS_HOST"] || "127.0.0.1", token };
}

const digest = (s: string) => createHash("sha256").update(s).digest();
const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/** Why this scrape is refused (401/403), or undefined when it may read the metrics. */
export function metricsRefusal(req: Pick<IncomingMessage, "headers" | "socket">, access: MetricsAccess, separateListener: boolean): { status: number; code: string } | undefined {
  if (access.token !== undefined) {
    const presented = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
    // Constant time over fixed-length digests: no timing signal on the token's prefix or length.
    return timingSafeEqual(digest(presented), digest(access.token)) ? undefined : { status: 401, code: "METRICS_TOKEN_REQUIRED" };
  }
  if (separateListener) return undefined;
  return LOOPBACK.has(req.socket.remoteAddress ?? "") ? undefined : { status: 403, code: "METRICS_LOOPBACK_ONLY" };
}

/**
 * Answers a /metrics request on a plane's public port (`separateListener` false) or on the
 * metrics listener. On the public port with a metrics listener configured, it is not found.
 */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, registry: MetricsRegistry, access: MetricsAccess, separateListener = false): void {
  if (!separateListener && access.port !== undefined) return answerJson(res, 404, "NOT_FOUND", "metrics are served on the metrics listener");
  const refused = metricsRefusal(req, access, separateListener);
  if (refused) return answerJson(res, refused.status, refused.code, "not allowed to read metrics");
  registry.render().then(
    (text) => {
      res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE });
      res.end(text);
    },
    (err: unknown) => {
      log.error("metrics collection failed", { err });
      answerJson(res, 500, "INTERNAL", "metrics could not be collected");
    },
  );
}

function answerJson(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { code, message } }));
}

/** Starts the separate metrics listener when one is configured; resolves to it (or undefined). */
export async function startMetricsListener(registry: MetricsRegistry, access: MetricsAccess): Promise<Server | undefined> {
  if (access.port === undefined) return undefined;
  const server = createServer((req, res) => {
    if ((req.url ?? "").split("?")[0] === "/metrics" && req.method === "GET") serveMetrics(req, res, registry, access, true);
    else answerJson(res, 404, "NOT_FOUND", "only GET /metrics is served here");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(access.port, access.host, () => resolve());
  });
  return server;
}
