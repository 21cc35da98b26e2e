import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody, type BodyResult } from "./read-body.js";

/** A real server whose handler reports what readBody returned. */
async function serve(maxBytes: number, timeoutMs: number): Promise<{ server: Server; url: URL; results: BodyResult[] }> {
  const results: BodyResult[] = [];
  const server = createServer((req, res) => {
    void readBody(req, maxBytes, timeoutMs).then((result) => {
      results.push(result);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`), results };
}

function post(url: URL, chunks: string[], headers: Record<string, string> = {}, gapMs = 0): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers }, (res) => res.resume().on("end", resolve));
    req.on("error", () => resolve());
    void (async () => {
      for (const c of chunks) {
        req.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      req.end();
    })();
  });
}

test.each([
  ["a body within the limit", 100, ["{\"a\":", "1}"], {}, 0, { ok: true }],
  ["a declared Content-Length over the limit, refused before reading", 10, ["x".repeat(50)], { "content-length": "50" }, 0, { ok: false, reason: "too-large" }],
  ["a chunked body that grows over the limit", 10, ["x".repeat(8), "x".repeat(8)], {}, 0, { ok: false, reason: "too-large" }],
  ["a body that trickles in slower than the timeout", 100, ["{", "\"a\"", ":1}"], {}, 150, { ok: false, reason: "timeout" }],
] as const)("%s", async (_name, max, chunks, headers, gap, expected) => {
  const { server, url, results } = await serve(max, 200);
  try {
    await post(url, [...chunks], { ...headers }, gap);
    expect(results[0]).toMatchObject(expected);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
