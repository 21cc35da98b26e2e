#!/usr/bin/env node
/**
 * The bench's "bare relay" peer (issue #14): the least a Node reverse proxy can do, on the same
 * libraries as agentgate — node:http in front, one keep-alive undici Pool per upstream behind,
 * `pool.stream()` writing the upstream body straight into the caller's response. It adds the
 * upstream key (as the gateway and nginx do), forwards the request body as a stream and drops
 * hop-by-hop headers; nothing else (no auth, policy, masking, recording). Plain JavaScript run
 * with plain node, so neither side of the comparison pays for a TypeScript loader.
 *
 * Env: BENCH_RELAY_ROUTES = JSON [{ "upstreamUrl": "...", "apiKey": "..." }, ...]; one listener
 * per route on a free loopback port. Prints {"ready":"bare-relay","urls":"url1 url2"} when listening.
 */
import { createServer } from "node:http";
import { Pool } from "undici";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization"]);

/** One route: a listener relaying everything to `upstreamUrl` with `apiKey`. */
function relay({ upstreamUrl, apiKey }) {
  const pool = new Pool(new URL(upstreamUrl).origin, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  return createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const headers = { "x-api-key": apiKey };
    for (const name of ["content-type", "content-length", "accept"]) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
    const hasBody = req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
    pool.stream(
      { method: req.method, path: req.url, headers, body: hasBody ? req : null },
      ({ statusCode, headers: upstream }) => {
        const out = {};
        for (const [name, value] of Object.entries(upstream)) if (!HOP_BY_HOP.has(name)) out[name] = value;
        res.writeHead(statusCode, out);
        return res;
      },
      (err) => {
        if (!err) return;
        if (res.headersSent) res.destroy();
        else res.writeHead(502, { "content-type": "application/json" }).end('{"error":"upstream unavailable"}');
      },
    );
  });
}

const routes = JSON.parse(process.env["BENCH_RELAY_ROUTES"] ?? "[]");
if (!Array.isArray(routes) || routes.length === 0) throw new Error("BENCH_RELAY_ROUTES must list at least one route");
const urls = await Promise.all(
  routes.map(
    (route) =>
      new Promise((resolve, reject) => {
        const server = relay(route);
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`));
      }),
  ),
);
process.stdout.write(JSON.stringify({ ready: "bare-relay", urls: urls.join(" ") }) + "\n");
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => process.exit(0));
