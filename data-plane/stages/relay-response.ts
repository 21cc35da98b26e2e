import { Writable } from "node:stream";
import type { ServerResponse } from "node:http";
import { maskerOf, type RequestContext } from "../pipeline/context.js";
import { filterResponse } from "./filter-response.js";
import { errorBody } from "../errors.js";
import { extractTokenUsage } from "../limits/usage.js";
import { exchangeCost, RUN_OPERATIONS } from "./limits.js";
import { charsetOf, decodeBody, looksLikeEventStream, mediaTypeOf, parseJsonBody } from "../masking/decode.js";
import type { GatewayErrorCode } from "../errors.js";
import type { Reason } from "../policy/reasons.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The ids of a run the upstream says it created (a background run's answer), if well-formed. */
function createdRun(json: unknown): { runId: string; threadId?: string } | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const { run_id: runId, thread_id: threadId } = json as Record<string, unknown>;
  if (typeof runId !== "string" || !UUID.test(runId)) return undefined;
  return typeof threadId === "string" && UUID.test(threadId) ? { runId, threadId } : { runId };
}

/** Largest non-streamed response the proxy will buffer to inspect (then 502). */
export const MAX_BUFFERED_RESPONSE = 32 << 20;
// What a session record keeps of a response: enough to replay, bounded.
const MAX_RECORDED_JSON = 1 << 20;
const MAX_RECORDED_EVENTS = 10_000;
const MAX_RECORDED_EVENT_BYTES = 4 << 20;

type Mode = "sse" | "wait" | "buffered" | "empty" | "uninspectable";

/**
 * How a response body is relayed, from its content type (case-insensitive) and encoding and
 * the route. Buffered bodies are masked by what they are, not by their label (see maskBuffered).
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

type Refusal = { ok: false; status: number; code: GatewayErrorCode; message: string; reason: Reason };

function headerValue(v: string | string[] | undefined): string {
  return Array.isArray(v) ? (v[0] ?? "") : (v ?? "");
}

/** Replaces the upstream credential wherever it shows up in text going to the caller. */
function scrubber(credential: string): (s: string) => string {
  if (credential.length < 8) return (s) => s;
  return (s) => (s.includes(credential) ? s.split(credential).join("[REDACTED:upstream-credential]") : s);
}

/**
 * A Writable that undici's `pool.stream()` writes the upstream body into: it masks and
 * relays to the caller's response, event by event for SSE (never buffering the stream),
 * whole for JSON (bounded), and records the masked result. Backpressure from the caller
 * propagates to the upstream socket through the write callback.
 */
export class ResponseRelay extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private prefixDone = false;
  private readonly sse: { push(chunk: Buffer): string; end(): string } | undefined;
  private readonly scrub: (s: string) => string;
  private recordedEventBytes = 0;

  constructor(
    private readonly ctx: RequestContext,
    private readonly res: ServerResponse,
    private readonly status: number,
    private readonly headers: Record<string, string | string[]>,
    private readonly mode: Mode,
  ) {
    super();
    this.scrub = scrubber(ctx.connection!.credential);
    if (mode === "sse") {
      this.sse = maskerOf(ctx).sse((event, data) => this.recordEvent(event, data));
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
      let out: string;
      try {
        out = this.sse!.push(chunk);
      } catch (err) {
        return done(err as Error); // e.g. one event over the masker's size bound: cut the stream
      }
      return this.send(this.scrub(out), done);
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
    this.finish().then(() => done(), (err: Error) => done(err));
  }

  private async finish(): Promise<void> {
    if (this.mode === "uninspectable") throw new Error("the upstream sent an encoded body the gateway cannot inspect");
    if (this.mode === "sse") {
      return this.end2(this.scrub(this.sse!.end()));
    }
    if (this.mode === "empty") {
      this.res.writeHead(this.status, this.headers);
      return this.end2("");
    }
    const bytes = Buffer.concat(this.chunks);
    const result = this.maskBuffered(bytes);
    if (!result.ok && result.reason === "response-uninspectable" && maskerOf(this.ctx).passUninspectable) {
      // The policy's profile says so explicitly (`passthrough: uninspectable`): relay as is, record only its size.
      this.ctx.record.responseJson = JSON.stringify({ uninspectable: true, bytes: bytes.length });
      this.res.writeHead(this.status, { ...this.headers, "content-length": bytes.length });
      return this.end2(bytes);
    }
    if (!result.ok) {
      // A response check failed: answer with the error instead of the upstream body.
      const payload = errorBody(result.code, result.message, this.ctx.req.id);
      this.ctx.record.status = result.status;
      this.ctx.record.errorCode = result.code;
      this.ctx.record.decision = "deny";
      this.ctx.record.reasons = [result.reason];
      this.res.writeHead(result.status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload), "x-request-id": this.ctx.req.id });
      return this.end2(payload);
    }
    const body = this.scrub(result.body);
    if (this.mode !== "wait") this.res.writeHead(this.status, { ...this.headers, "content-length": Buffer.byteLength(body) });
    return this.end2(body);
  }

  /**
   * Masks a whole body by what it is, whatever its label: decoded by BOM / charset (strictly;
   * what is not text is refused, never relayed uninspected), JSON parsed and masked
   * structurally, an event stream event by event, anything else as text. A transcoded body
   * leaves as UTF-8, relabelled.
   */
  private maskBuffered(bytes: Buffer): { ok: true; body: string } | Refusal {
    const masker = maskerOf(this.ctx);
    const contentType = headerValue(this.headers["content-type"]);
    const decoded = decodeBody(bytes, contentType);
    if (!decoded.ok) {
      return { ok: false, status: 502, code: "UPSTREAM_UNAVAILABLE", message: `the upstream answer cannot be inspected (${decoded.reason})`, reason: "response-uninspectable" };
    }
    const text = decoded.text;
    if (decoded.transcoded) this.headers["content-type"] = `${mediaTypeOf(contentType) || "text/plain"}; charset=utf-8`;
    let masked: string;
    const json = parseJsonBody(text);
    if (json !== undefined) {
      const filtered = this.status < 300 ? filterResponse(this.ctx, json.value) : { ok: true as const, json: json.value };
      if (!filtered.ok) return { ...filtered, reason: "thread-not-owned" };
      if (this.status < 300 && this.ctx.route!.route.operation === "runs:create") this.ctx.startedRun = createdRun(filtered.json) ?? this.ctx.startedRun;
      if (this.mode === "wait") {
        // The output is the final state: what the caller sent in is its baseline, not new usage.
        this.countUsage("values", JSON.stringify(this.ctx.json?.["input"] ?? null));
        this.countUsage("values", JSON.stringify(filtered.json));
      }
      masked = JSON.stringify(masker.maskJson(filtered.json));
    } else if (looksLikeEventStream(text)) {
      const sse = masker.sse();
      masked = sse.push(Buffer.from(text)) + sse.end();
    } else masked = masker.maskText(text);
    this.ctx.record.responseJson = masked.slice(0, MAX_RECORDED_JSON);
    return { ok: true, body: masked };
  }

  /** Keeps each masked SSE event, with its time offset, for the session record (bounded). */
  private recordEvent(event: string, data: string): void {
    this.countUsage(event, data);
    const events = this.ctx.record.events;
    if (events.length >= MAX_RECORDED_EVENTS || this.recordedEventBytes > MAX_RECORDED_EVENT_BYTES) return;
    this.recordedEventBytes += data.length;
    events.push({ offsetMs: Date.now() - this.ctx.req.startedAt, event, data: this.scrub(data) });
  }

  /** Counts model tokens in run output (for cost budgets); never fails the relay. */
  private countUsage(event: string, data: string): void {
    if (!RUN_OPERATIONS.has(this.ctx.route!.route.operation)) return;
    // Still seen (a first `values` is the input state; the mode counts as read) even without usage.
    if (!data.includes("usage_metadata")) return void extractTokenUsage(event, null, this.ctx.usage);
    try {
      extractTokenUsage(event, JSON.parse(data), this.ctx.usage);
    } catch {
      // not JSON: no usage to read
    }
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
