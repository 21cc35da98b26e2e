/**
 * Minimal static upstream, run as its own process (`startServiceProcess`): answers
 * `POST /assistants/search` with a fixed ~300 B JSON array (one assistant of graph `echo`)
 * when `x-api-key` matches BENCH_STATIC_KEY. It does as little as node:http allows, so a
 * proxy in front of it shows its own overhead rather than the upstream's.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** The fixed answer, padded to ~300 bytes like the DESIGN §9 wrk measurements. */
export const STATIC_BODY = Buffer.from(
  JSON.stringify([
    {
      assistant_id: "fe096781-5601-53d2-b2f6-0d3403f7e9ca",
      graph_id: "echo",
      config: {},
      context: {},
      metadata: { created_by: "system" },
      name: "echo",
      description: "static answer for the agentgate proxy bench",
      created_at: "2026-11-25T10:00:00.000Z",
      updated_at: "2026-11-25T10:00:00.000Z",
      version: 1,
    },
  ]),
);

const key = process.env["BENCH_STATIC_KEY"] ?? "";
if (key.length < 8) throw new Error("BENCH_STATIC_KEY must be set");
const ok = { "content-type": "application/json", "content-length": String(STATIC_BODY.length) };

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  // Drain the request body before answering so keep-alive connections stay reusable.
  req.resume();
  req.once("end", () => {
    if (req.headers["x-api-key"] !== key) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"detail":"bad key"}');
    } else if (req.method === "POST" && req.url === "/assistants/search") {
      res.writeHead(200, ok).end(STATIC_BODY);
    } else {
      res.writeHead(404, { "content-type": "application/json" }).end('{"detail":"not found"}');
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ ready: "static-upstream", url: `http://127.0.0.1:${port}`, bytes: String(STATIC_BODY.length) }) + "\n");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(0));
