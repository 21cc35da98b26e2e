import type { RequestContext } from "../pipeline/context.js";
import type { AnswerPart, AnswerRefusal } from "../pipeline/answer.js";

// What a session record keeps of a response: enough to replay, bounded.
const MAX_RECORDED_JSON = 1 << 20;
const MAX_RECORDED_EVENTS = 10_000;
const MAX_RECORDED_EVENT_BYTES = 4 << 20;

/** Bytes of event data recorded so far, per exchange. */
const recordedEventBytes = new WeakMap<RequestContext, number>();

/**
 * Response stage `record`: what the caller received goes into the session draft (masked,
 * scrubbed, bounded): each streamed event with its time offset, or the whole body's text (a body
 * relayed uninspected by the profile's choice is recorded by its size only).
 */
export function recordAnswer(ctx: RequestContext, part: AnswerPart): AnswerRefusal | undefined {
  if (part.kind === "sse") {
    const events = ctx.record.events;
    let bytes = recordedEventBytes.get(ctx) ?? 0;
    for (const e of part.events) {
      if (events.length >= MAX_RECORDED_EVENTS || bytes > MAX_RECORDED_EVENT_BYTES) break;
      bytes += e.data.length;
      events.push({ offsetMs: Date.now() - ctx.req.startedAt, event: e.event, data: e.data });
    }
    recordedEventBytes.set(ctx, bytes);
    return undefined;
  }
  ctx.record.responseJson = part.uninspectable ? JSON.stringify({ uninspectable: true, bytes: part.bytes.length }) : part.outText().slice(0, MAX_RECORDED_JSON);
  return undefined;
}
