import { maskerOf, type RequestContext } from "../pipeline/context.js";
import type { AnswerPart, AnswerRefusal, BufferedAnswer, StreamChunk } from "../pipeline/answer.js";
import { mediaTypeOf } from "../../common/masking/decode.js";
import type { BoundedMaskResult } from "../../common/masking/pool.js";

/**
 * Response stage `mask`, with the event loop bounded (masking/pool.ts, sse-bounded.ts).
 * An event-stream chunk goes through the stream's incremental masker: small events inline,
 * large ones in the masking pool; an event it cannot mask within bounds rejects, and the
 * relay cuts the stream. A whole body is masked by what it is, whatever its label: decoded
 * by BOM / charset (strictly; what is not text is refused, never relayed uninspected, unless
 * the profile lets uninspectable bodies pass), JSON masked structurally, an event stream
 * event by event, anything else as text; a transcoded body leaves as UTF-8, relabelled;
 * inline under INLINE_MAX_BYTES, else in the pool (`bound` → 502). A body masking leaves
 * unchanged goes out as the upstream's bytes (issue #14). A value an earlier stage replaced
 * (a filtered search) is masked the same way, from its serialisation.
 */
export function maskAnswer(ctx: RequestContext, part: AnswerPart): Promise<AnswerRefusal | undefined> {
  return part.kind === "sse" ? maskStreamChunk(part) : maskBuffered(ctx, part);
}

async function maskStreamChunk(part: StreamChunk): Promise<undefined> {
  // rejects on an event over the masker's size or time bound: the relay cuts the stream
  part.out = part.last ? await part.masker.end() : await part.masker.push(part.bytes);
  return undefined;
}

async function maskBuffered(ctx: RequestContext, part: BufferedAnswer): Promise<AnswerRefusal | undefined> {
  const masker = maskerOf(ctx);
  if (!part.replaced) return usePremasked(masker.passUninspectable, part, await masker.maskBodyBounded(part.bytes, part.contentType, { onInvalidJson: "text" }, true));
  // an earlier stage replaced the (JSON) value: the caller gets its serialisation, masked
  const decoded = part.text();
  const json = part.json();
  if (json === undefined || !decoded.ok) throw new Error("a replaced answer must be JSON text"); // replaceJson() parsed it
  const text = JSON.stringify(json.value);
  if (json.value === null || typeof json.value !== "object" && typeof json.value !== "string") {
    part.out = text; // null, a number, a boolean (a store item the caller may not see): nothing to mask
    return undefined;
  }
  // integers JSON.parse rounded are judged by the digits the upstream wrote (a card beyond 2^53)
  const r = await masker.maskBodyBounded(text, "application/json", { numberSource: decoded.text }, false);
  if (r.ok && decoded.transcoded) return usePremasked(masker.passUninspectable, part, { ...r, transcoded: true });
  return usePremasked(masker.passUninspectable, part, r);
}

/** The `mask` stage's answer from a bounded masking result. */
function usePremasked(passUninspectable: boolean, part: BufferedAnswer, r: BoundedMaskResult): AnswerRefusal | undefined {
  if (r.ok) {
    if ("untouched" in r) return undefined; // nothing to mask: the upstream's bytes go out
    if (r.transcoded) part.headers["content-type"] = `${mediaTypeOf(part.contentType) || "text/plain"}; charset=utf-8`;
    part.out = r.body;
    return undefined;
  }
  if (r.code === "uninspectable" && passUninspectable) {
    part.uninspectable = true;
    return undefined;
  }
  const message =
    r.code === "bound" ? `the upstream answer could not be masked within the gateway's bounds (${r.reason})` : `the upstream answer cannot be inspected (${r.reason ?? r.code})`;
  return { status: 502, code: "UPSTREAM_UNAVAILABLE", message, reason: "response-uninspectable" };
}
