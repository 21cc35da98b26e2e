import type { IncomingMessage } from "node:http";

/** The body, or the reason it was refused. */
export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: "too-large" | "timeout" | "aborted" };

const EMPTY = Buffer.alloc(0);

/**
 * Reads a request body up to `maxBytes` and within `timeoutMs` (habit 8: every read has a
 * limit; a client trickling its body cannot hold a request open). A declared
 * Content-Length over the limit is refused before reading anything.
 */
export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs = 30_000): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) return Promise.resolve({ ok: false, reason: "too-large" });
  if (req.method === "GET" || req.method === "HEAD") {
    req.resume();
    return Promise.resolve({ ok: true, body: EMPTY });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => settle({ ok: false, reason: "timeout" }), timeoutMs);
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) return settle({ ok: false, reason: "too-large" });
      chunks.push(chunk);
    });
    req.on("end", () => settle({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
    req.on("error", () => settle({ ok: false, reason: "aborted" }));
    // A client that hangs up mid-body may only show as a close of an incomplete message.
    req.on("close", () => {
      if (!req.complete) settle({ ok: false, reason: "aborted" });
    });
  });
}
