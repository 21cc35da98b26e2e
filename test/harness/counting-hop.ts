/**
 * A recording reverse proxy placed between the gateway and the upstream, so
 * tests can prove what actually reaches the upstream: which requests, with
 * which headers (e.g. no `authorization` bearer, only the gateway's
 * `x-api-key`, no client-sent `x-agentgate-*`).
 *
 * Bodies are streamed both ways without buffering (SSE and the keep-alive
 * newlines of `runs/wait` pass through as they come); WebSocket upgrades are
 * tunnelled. Plain node:http on purpose: nothing in it should behave like the
 * gateway under test. No jest imports (usable from scripts).
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One request as it arrived at the hop (i.e. as the upstream receives it). */
export interface RecordedRequest {
  method: string;
  /** Path with query string, e.g. `/threads/abc/runs/stream?x=1`. */
  path: string;
  /** Headers as received, lower-case names (node's IncomingHttpHeaders). */
  headers: IncomingHttpHeaders;
  /** Upstream status, once the upstream answered (undefined if it never did). */
  status?: number;
}

/** A running counting hop. */
export interface CountingHop {
  /** Base URL to give the gateway as its upstream. */
  url: string;
  /** Every request seen since start or the last reset, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Forget recorded requests. */
  reset(): void;
  /** Close the hop and every open connection. Idempotent. */
  stop(): Promise<void>;
}

// Connection-level headers: they describe one hop, not the message.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: IncomingHttpHeaders, host?: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  if (host !== undefined) out.host = host;
  return out;
}

/** Start a hop on 127.0.0.1 (free port) forwarding to `targetUrl`. */
export async function startCountingHop(targetUrl: string): Promise<CountingHop> {
  const target = new URL(targetUrl);
  if (target.protocol !== "http:") throw new Error(`counting hop only forwards to http: (got ${targetUrl})`);
  const basePath = target.pathname.replace(/\/$/, "");
  const agent = new Agent({ keepAlive: true });
  const requests: RecordedRequest[] = [];
  // Upgraded sockets leave the server's bookkeeping: closeAllConnections()
  // would not end them, so stop() destroys them from here.
  const tunnels = new Set<Socket>();

  const record = (req: IncomingMessage): RecordedRequest => {
    const entry: RecordedRequest = { method: req.method ?? "GET", path: req.url ?? "/", headers: { ...req.headers } };
    requests.push(entry);
    return entry;
  };

  const forward = (req: IncomingMessage, headers: OutgoingHttpHeaders) =>
    httpRequest({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: basePath + (req.url ?? "/"),
      headers,
      agent,
    });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry = record(req);
    const upstream = forward(req, endToEnd(req.headers, target.host));
    upstream.on("response", (upstreamRes) => {
      entry.status = upstreamRes.statusCode;
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, endToEnd(upstreamRes.headers));
      // Send the head now: `runs/wait` answers headers first, body much later.
      res.flushHeaders();
      upstreamRes.pipe(res);
      upstreamRes.on("error", () => res.destroy());
    });
    upstream.on("error", (error) => {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`counting hop: upstream error: ${error.message}`);
      } else {
        res.destroy();
      }
    });
    // A client that goes away must not leave the upstream run streaming.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  // WebSocket (e.g. GET /threads/{tid}/stream/events): tunnel the raw sockets.
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const entry = record(req);
    const upstream = forward(req, { ...req.headers, host: target.host });
    upstream.on("upgrade", (upstreamRes, upstreamSocket, upstreamHead) => {
      entry.status = upstreamRes.statusCode;
      const lines = [`HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage ?? ""}`];
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) {
        lines.push(`${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}`);
      }
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      for (const s of [socket, upstreamSocket]) {
        tunnels.add(s);
        s.on("close", () => tunnels.delete(s));
      }
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
      upstreamSocket.on("error", () => socket.destroy());
      socket.on("error", () => upstreamSocket.destroy());
    });
    // The upstream refused the upgrade: relay its answer as plain HTTP.
    upstream.on("response", (upstreamRes) => {
      entry.status = upstreamRes.statusCode;
      socket.write(`HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage ?? ""}\r\nconnection: close\r\n\r\n`);
      upstreamRes.pipe(socket);
    });
    upstream.on("error", () => socket.destroy());
    upstream.end();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reset: () => void requests.splice(0),
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of tunnels) socket.destroy();
        agent.destroy();
      })),
  };
}
