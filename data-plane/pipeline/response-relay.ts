import { Writable } from "node:stream";
import type { ServerResponse } from "node:http";
import { maskerOf, type RequestContext, type StreamMasker } from "./context.js";
import { BufferedAnswer, StreamChunk } from "./answer.js";
import { runResponseStages } from "./run.js";
import { errorBody } from "../errors.js";
import { exchangeCost } from "../limits/run-rules.js";
import { charsetOf, mediaTypeOf } from "../../common/masking/decode.js";
import { SseMaskBoundError } from "../../common/masking/sse-bounded.js";

/** Largest non-streamed response the proxy will buffer to inspect (then 502). */
export const MAX_BUFFERED_RESPONSE = 32 << 20;
const EMPTY = Buffer.alloc(0);

type Mode = "sse" | "wait" | "buffered" | "empty" | "uninspectable";

/**
 * How a response body is relayed, from its content type (case-insensitive) and encoding and
 * the route. Buffered bodies are masked by what they are, not by their label (see mask-response.ts).
 */
export function relayMode(ctx: RequestContext, status: number, contentType: string, contentEncoding = ""): Mode {
  if (status === 204 || status === 304 || ctx.req.method === "HEAD") return "empty";
  // A compressed body cannot be masked: never relay what was not inspected.
  if (contentEncoding && contentEncoding.toLowerCase() !== "identity") return "uninspectable";
  if (mediaTypeOf(contentType) === "text/event-stream") {
    // event streams are UTF-8 (WHATWG); another declared charset cannot be read the client's way
    const charset = charsetOf(contentType);
    return charset === undefined || charset === "utf-8" || charset === "utf8" ? "sse" : "uninspectable";
  }
  // runs/wait answers text/plain: keep-alive newlines, then the JSON (DESIGN.md §9).
  if (ctx.route!.route.operation === "runs:wait") return "wait";
  return "buffered";
}

function headerValue(v: string | string[] | undefined): string {
  return Array.isArray(v) ? (v[0] ?? "") : (v ?? "");
}

/**
 * A Writable that undici's `pool.stream()` writes the upstream body into: the response stages
 * (pipeline/run.ts: filter, mask, scrub, count usage, record) run over each event-stream chunk
 * as it arrives (never buffering the stream), or over the whole body once it is complete
 * (bounded), and the result goes to the caller. Backpressure from the caller propagates to the
 * upstream socket through the write callback.
 */
export class ResponseRelay extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private prefixDone = false;
  private readonly sse: StreamMasker | undefined;
  /** The chunk the stream masker is working on: it reports completed events into it. */
  private current: StreamChunk | undefined;

  constructor(
    private readonly ctx: RequestContext,
    private readonly res: ServerResponse,
    private readonly status: number,
    private readonly headers: Record<string, string | string[]>,
    private readonly mode: Mode,
  ) {
    super();
    if (mode === "sse") {
      this.sse = maskerOf(ctx).sse((event, data) => void this.current?.events.push({ event, data }));
      res.writeHead(status, { ...headers, "cache-control": "no-cache", "x-accel-buffering": "no" });
      res.flushHeaders();
    } else if (mode === "wait") {
      res.writeHead(status, headers);
      res.flushHeaders();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.mode === "uninspectable") return done(new Error("the upstream sent an encoded body the gateway cannot inspect"));
    if (this.mode === "sse") {
      this.streamChunk(chunk, false).then(
        (out) => this.send(out, done),
        (err: Error) => this.cut(err, done), // e.g. one event over the masker's size or time bound
      );
      return;
    }
    let rest = chunk;
    if (this.mode === "wait" && !this.prefixDone) {
      // Pass the keep-alive whitespace through at once; buffer from the first JSON byte.
      let i = 0;
      while (i < chunk.length && (chunk[i] === 0x0a || chunk[i] === 0x20 || chunk[i] === 0x0d)) i++;
      if (i === chunk.length) return this.send(chunk.toString("latin1"), done);
      this.prefixDone = true;
      rest = chunk.subarray(i);
      if (i > 0) this.res.write(chunk.subarray(0, i));
    }
    this.size += rest.length;
    if (this.size > MAX_BUFFERED_RESPONSE) return done(new Error(`upstream response exceeds ${MAX_BUFFERED_RESPONSE} bytes`));
    this.chunks.push(rest);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.finish().then(
      () => done(),
      (err: Error) => (this.mode === "sse" ? this.cut(err, done) : done(err)),
    );
  }

  /** One streamed chunk (or the end of the stream) through the response stages: the text to relay. */
  private async streamChunk(bytes: Buffer, last: boolean): Promise<string> {
    const part = (this.current = new StreamChunk(bytes, last, this.sse!));
    const refusal = await runResponseStages(this.ctx, part);
    if (refusal) throw new Error(refusal.message); // the stream has started: cut it
    return part.out;
  }

  /**
   * Cuts a started stream: an event the gateway could not mask within its bounds is never
   * relayed (fail closed); the caller gets an `error` event saying so, and the record says why.
   */
  private cut(err: Error, done: (err?: Error | null) => void): void {
    if (err instanceof SseMaskBoundError) {
      this.ctx.record.errorCode = "MASKING_BOUND";
      this.ctx.record.reasons.push("response-uninspectable");
      if (!this.res.destroyed) this.res.write(`event: error\ndata: ${JSON.stringify({ error: "MASKING_BOUND", message: err.message })}\n\n`);
    }
    done(err);
  }

  private async finish(): Promise<void> {
    if (this.mode === "uninspectable") throw new Error("the upstream sent an encoded body the gateway cannot inspect");
    if (this.mode === "sse") return this.end2(await this.streamChunk(EMPTY, true));
    if (this.mode === "empty") {
      this.res.writeHead(this.status, this.headers);
      return this.end2("");
    }
    const part = new BufferedAnswer(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks), this.status, this.headers, headerValue(this.headers["content-type"]), this.mode);
    const refusal = await runResponseStages(this.ctx, part); // a large body is masked off the event loop, bounded
    if (refusal) {
      // A response check failed: answer with the error instead of the upstream body.
      const payload = errorBody(refusal.code, refusal.message, this.ctx.req.id);
      this.ctx.record.status = refusal.status;
      this.ctx.record.errorCode = refusal.code;
      this.ctx.record.decision = "deny";
      this.ctx.record.reasons = [refusal.reason];
      this.res.writeHead(refusal.status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload), "x-request-id": this.ctx.req.id });
      return this.end2(payload);
    }
    if (this.mode !== "wait") {
      // (the exchange's own header object, as mask-response's relabelling: no copy)
      part.headers["content-length"] = String(Buffer.byteLength(part.out));
      this.res.writeHead(this.status, part.headers);
    }
    return this.end2(part.out);
  }

  private send(text: string, done: (err?: Error | null) => void): void {
    // The caller left but the run goes on (see runOutlivesHangUp): keep reading, to nobody.
    // (The signal is the caller's hang-up: `res.destroyed` alone may still be false then.)
    if (!text || this.ctx.signal.aborted || this.res.destroyed) return done();
    this.ctx.record.bytesOut += Buffer.byteLength(text);
    if (this.res.write(text)) return done();
    // Wait for room, or for the caller to be gone: a response that closes never drains, and
    // waiting for 'drain' alone would leave the exchange (its record, its slots) hanging.
    const settle = () => {
      this.res.off("drain", settle);
      this.res.off("close", settle);
      done();
    };
    this.res.on("drain", settle);
    this.res.on("close", settle);
  }

  /** Ends the caller's response only once the session record is durable. */
  private async end2(text: string | Buffer): Promise<void> {
    this.ctx.record.bytesOut += Buffer.byteLength(text);
    this.ctx.record.cost = exchangeCost(this.ctx);
    if (this.ctx.signal.aborted || this.res.destroyed) this.ctx.record.errorCode ||= "CLIENT_CLOSED";
    await this.ctx.commitRecord();
    this.res.end(text);
  }
}
