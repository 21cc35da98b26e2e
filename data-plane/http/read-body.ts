import type { IncomingMessage } from "node:http";

/** The body, or the reason it was refused. */
export type BodyResult = { ok: true; body: Buffer } | { ok: false; tooLarge: true } | { ok: false; tooLarge: false };

const EMPTY = Buffer.alloc(0);

/**
 * Reads a request body up to `maxBytes` (habit 8: every read has a limit). A declared
 * Content-Length over the limit is refused before reading anything.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) return Promise.resolve({ ok: false, tooLarge: true });
  if (req.method === "GET" || req.method === "HEAD") {
    req.resume();
    return Promise.resolve({ ok: true, body: EMPTY });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) {
        settled = true;
        resolve({ ok: false, tooLarge: true });
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!settled) resolve({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
      settled = true;
    });
    req.on("error", () => {
      if (!settled) resolve({ ok: false, tooLarge: false });
      settled = true;
    });
  });
}
