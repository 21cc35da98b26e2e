import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { errorBody, statusOf, type GatewayErrorCode } from "../errors.js";
import type { GatewayRequest, ProxyServices, ProxyState, RecordDraft, RequestContext } from "../pipeline/context.js";
import { deny, type Outcome } from "../pipeline/outcome.js";
import { runPipeline } from "../pipeline/run.js";
import { HangUp } from "../pipeline/hang-up.js";
import { readBody } from "./read-body.js";
import { createUuidV7 } from "../../common/recording/uuidv7.js";
import { log } from "../../common/observability/log.js";
import { createUsageTracker } from "../limits/usage.js";
import { maskQueryForRecord } from "../../common/masking/query.js";
import { UpstreamFailure } from "../upstream/side-calls.js";

/** What the HTTP front needs from the rest of the proxy. */
export interface ProxyHttpOptions {
  readonly services: ProxyServices;
  /** The current proxy state, or undefined before the first snapshot. */
  readonly state: () => ProxyState | undefined;
  /**
   * Stores the session record of an exchange, allowed or denied, durably, into the space
   * `admit` reserved for it. Called once per exchange, before its response completes (see
   * RequestContext.commitRecord).
   */
  readonly record: (ctx: RequestContext, ticket: RecordTicket | undefined) => Promise<void>;
  /** Answers GET /metrics before any policy (access rules of observability/metrics-endpoint.ts). */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Health endpoints, answered before any policy. */
  readonly health: (path: string) => { status: number; body: string; contentType: string } | undefined;
  /**
   * Reserves recording space for a new exchange before anything else happens, or refuses it
   * (e.g. SPOOL_FULL): a request that could not be recorded never reaches the upstream.
   */
  readonly admit?: () => { ticket: RecordTicket } | { refused: GatewayErrorCode };
  /** Writes a state-changing exchange ahead before it is forwarded (RequestContext.beforeForward); undefined: nothing to write. */
  readonly beforeForward?: (ctx: RequestContext) => Promise<void> | undefined;
  readonly requestTimeoutMs?: number;
}

/** Recording space held for one exchange; released when the exchange ends without using it. */
export interface RecordTicket {
  release(): unknown;
}

const CONNECTION_PREFIX = /^\/c\/([A-Za-z0-9._-]{1,100})(\/.*)$/;
const EMPTY_BODY = Buffer.alloc(0);

type Target = { ok: true; rawPath: string; pathname: string; search: string; connectionName: string | undefined } | { ok: false; message: string };

/** Splits the request target into path, query and connection prefix; strict about its form. */
function parseTarget(url: string): Target {
  if (!url.startsWith("/") || url.startsWith("//")) return { ok: false, message: "request target must be a path" };
  const queryAt = url.indexOf("?");
  let rawPath = queryAt >= 0 ? url.slice(0, queryAt) : url;
  const search = queryAt >= 0 ? url.slice(queryAt) : "";
  let connectionName: string | undefined;
  const prefixed = CONNECTION_PREFIX.exec(rawPath);
  if (prefixed) {
    connectionName = prefixed[1];
    rawPath = prefixed[2]!;
  }
  let pathname: string;
  try {
    pathname = decodeURI(rawPath);
  } catch {
    return { ok: false, message: "malformed percent-encoding in the path" };
  }
  if (pathname.includes("/../") || pathname.endsWith("/..") || pathname.includes("/./")) return { ok: false, message: "dot segments are not allowed in paths" };
  return { ok: true, rawPath, pathname, search, connectionName };
}
const nextId = createUuidV7();

/**
 * Every Authorization header as sent. Node keeps only the first one in `req.headers`, so a
 * second credential would go unseen there: an array here makes the bearer parser refuse it.
 */
function authorizationValues(raw: readonly string[]): string | string[] | undefined {
  let first: string | undefined;
  let values: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    // The length first: lower-casing every header name would allocate a string per header.
    if (name.length !== 13 || name.toLowerCase() !== "authorization") continue;
    if (first === undefined) first = raw[i + 1]!;
    else (values ??= [first]).push(raw[i + 1]!);
  }
  return values ?? first;
}

function newRecord(): RecordDraft {
  return { decision: "deny", reasons: [], status: 0, errorCode: "", requestJson: "", query: "", responseJson: "", events: [], bytesIn: 0, bytesOut: 0, cost: 0, maskCounts: {} };
}

/** Writes the one JSON error shape, with WWW-Authenticate on 401 and Retry-After on 429. */
export function writeError(res: ServerResponse, code: GatewayErrorCode, message: string, requestId: string, retryAfterSeconds?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = statusOf(code);
  const body = errorBody(code, message, requestId);
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-request-id": requestId };
  if (status === 401) headers["www-authenticate"] = `Bearer realm="agentgate", error="invalid_token"`;
  if (retryAfterSeconds !== undefined) headers["retry-after"] = Math.max(1, Math.ceil(retryAfterSeconds));
  res.writeHead(status, headers);
  res.end(body);
}

/** The proxy's HTTP server, with the exchanges it is handling (for a graceful shutdown). */
export interface ProxyServer extends Server {
  /** Exchanges whose handling (relay, cleanups, record) has not finished. */
  exchangesInFlight(): number;
  /** Resolves true once no exchange is in flight, false after `timeoutMs`. */
  exchangesDone(timeoutMs: number): Promise<boolean>;
}

/**
 * The proxy's HTTP front: parses each request once into a GatewayRequest (bounded body,
 * strict URL), runs the pipeline, maps denials and failures to the JSON error shape and
 * hands every exchange to onExchange for recording. WebSocket upgrades are refused.
 */
export function createProxyServer(opts: ProxyHttpOptions): ProxyServer {
  const inFlight = new Set<Promise<void>>();
  const server = createServer(
    { requestTimeout: opts.requestTimeoutMs ?? 0, headersTimeout: 30_000, maxHeaderSize: 16 * 1024, keepAliveTimeout: 65_000 },
    (req, res) => {
      // Last line of defence: a bug in one exchange must never take the proxy down.
      const handled = handle(req, res, opts).catch((err: unknown) => {
        log.error("unhandled error in an exchange", { err });
        res.destroy();
      });
      inFlight.add(handled);
      void handled.finally(() => inFlight.delete(handled));
    },
  );
  server.on("upgrade", (_req: IncomingMessage, socket: Socket) => {
    const body = errorBody("ROUTE_UNSUPPORTED", "WebSocket upgrades are not supported through the gateway", nextId());
    socket.end(`HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  server.on("clientError", (_err, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const body = errorBody("BAD_REQUEST", "malformed HTTP request", nextId());
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  return Object.assign(server, {
    exchangesInFlight: () => inFlight.size,
    async exchangesDone(timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (inFlight.size > 0) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => (timer = setTimeout(r, left)))]);
        clearTimeout(timer);
      }
      return true;
    },
  });
}

/**
 * Every answer sent before the request body was read closes the connection: the header is
 * set while a body is announced and unread, and removed only once it was read whole. An
 * unread body can then never be taken for the next request on the socket, and a client is
 * never left waiting on a socket nobody reads (health, no snapshot, admission refused,
 * malformed target, body too large or late — and any answer added later).
 */
function closeUntilBodyRead(req: IncomingMessage, res: ServerResponse): void {
  if (!req.complete && (req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0)) res.setHeader("connection", "close");
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ProxyHttpOptions): Promise<void> {
  const id = nextId();
  const startedAt = Date.now();
  closeUntilBodyRead(req, res);
  const url = req.url ?? "";
  const queryAt = url.indexOf("?");
  const path = url.startsWith("/") ? (queryAt < 0 ? url : url.slice(0, queryAt)) : undefined;
  if (path === "/metrics" && opts.metrics) return opts.metrics(req, res);
  const health = path !== undefined ? opts.health(path) : undefined;
  if (health) {
    res.writeHead(health.status, { "content-type": health.contentType });
    res.end(health.body);
    return;
  }
  const admitted = opts.admit?.() ?? { ticket: undefined };
  if ("refused" in admitted) return writeError(res, admitted.refused, "the gateway cannot record sessions right now; try again later", id, 5);
  try {
    await handleAdmitted(req, res, opts, id, startedAt, admitted.ticket);
  } finally {
    admitted.ticket?.release(); // unused (e.g. no snapshot yet): give the space back
  }
}

async function handleAdmitted(req: IncomingMessage, res: ServerResponse, opts: ProxyHttpOptions, id: string, startedAt: number, ticket: RecordTicket | undefined): Promise<void> {
  const url = req.url ?? "";
  const state = opts.state();
  if (!state) return writeError(res, "NO_POLICY_SNAPSHOT", "the gateway has no policy yet", id, 2);

  // Problems found before the pipeline are denials like any other: recorded, then answered.
  const target = parseTarget(url);
  const body = target.ok ? await readBody(req, opts.services.maxBodyBytes) : undefined;
  // A client that hung up before its body arrived is an exchange too: recorded, never forwarded.
  const hungUpEarly = body !== undefined && !body.ok && body.reason === "aborted";
  let early: Outcome | undefined = target.ok ? undefined : deny("BAD_REQUEST", target.message);
  if (body?.ok && req.complete) res.removeHeader("connection");
  if (body && !body.ok) {
    early = body.reason === "too-large"
      ? deny("BODY_TOO_LARGE", `request body exceeds ${opts.services.maxBodyBytes} bytes`, "body-too-large")
      : body.reason === "timeout"
        ? deny("REQUEST_TIMEOUT", "the request body did not arrive in time")
        : deny("BAD_REQUEST", "the client closed the connection before its body arrived");
  }
  const t = target.ok ? target : { rawPath: url.slice(0, 2048), pathname: "", search: "", connectionName: undefined };
  const gatewayRequest: GatewayRequest = {
    id,
    method: req.method ?? "GET",
    rawPath: t.rawPath,
    pathname: t.pathname,
    search: t.search,
    headers: { ...req.headers, authorization: authorizationValues(req.rawHeaders) },
    body: body?.ok ? body.body : EMPTY_BODY,
    startedAt,
    connectionName: t.connectionName,
  };
  const hangUp = new HangUp();
  res.on("close", () => {
    if (!res.writableFinished) hangUp.abort();
  });
  let committed: Promise<void> | undefined;
  const ctx: RequestContext = {
    req: gatewayRequest,
    state,
    services: opts.services,
    signal: hangUp,
    cleanups: [],
    record: newRecord(),
    usage: createUsageTracker(),
    commitRecord: () => (committed ??= opts.record(ctx, ticket)),
    beforeForward: () => opts.beforeForward?.(ctx),
    // Every stage output exists from the start, in one order: all contexts share one hidden
    // class, so the stages' property reads stay monomorphic whatever the route set (issue #14).
    connection: undefined,
    identity: undefined,
    route: undefined,
    json: undefined,
    jsonText: undefined,
    assistantId: undefined,
    graph: undefined,
    threadId: undefined,
    runId: undefined,
    startedRun: undefined,
    owner: undefined,
    storeScope: undefined,
    outboundSearch: undefined,
    ownerTag: undefined,
    threadOwner: undefined,
    decision: undefined,
    masker: undefined,
    outboundBody: undefined,
  };
  ctx.record.bytesIn = gatewayRequest.body.length;
  ctx.record.query = maskQueryForRecord(gatewayRequest.search);

  let outcome: Outcome;
  try {
    outcome = early ?? (await runPipeline(ctx, res));
  } catch (err) {
    // Stages answer upstream trouble themselves; what escapes is a side call's failure
    // (the upstream's fault: 502) or a bug in the gateway (500, logged with its stack).
    const upstream = err instanceof UpstreamFailure;
    log.error(upstream ? "upstream failed during the exchange" : "unexpected error in the exchange", { requestId: id, err });
    outcome = upstream
      ? { kind: "deny", code: "UPSTREAM_UNAVAILABLE", reason: undefined, message: "the upstream is unavailable" }
      : { kind: "deny", code: "INTERNAL", reason: undefined, message: "the gateway failed to handle the request" };
  }
  if (outcome.kind === "deny") {
    ctx.record.decision = "deny";
    if (outcome.reason && !ctx.record.reasons.includes(outcome.reason)) ctx.record.reasons = [outcome.reason];
    ctx.record.status = statusOf(outcome.code);
    ctx.record.errorCode = outcome.code;
  }
  if (hungUpEarly) ctx.record.errorCode = "CLIENT_CLOSED";
  for (const cleanup of ctx.cleanups) {
    try {
      await cleanup();
    } catch (err) {
      log.warn("cleanup failed", { requestId: id, err });
    }
  }
  try {
    // Denials are recorded before they are answered; exchanges cut short are recorded too.
    await ctx.commitRecord();
  } catch (err) {
    log.error("session record not stored", { requestId: id, err });
    if (!res.headersSent) return writeError(res, "SPOOL_FULL", "the gateway cannot record sessions right now; try again later", id, 5);
    return void res.destroy();
  }
  if (outcome.kind === "deny" && !res.destroyed) writeError(res, outcome.code, outcome.message, id, outcome.retryAfterSeconds);
}
