import { maskerOf, type RequestContext } from "../pipeline/context.js";
import type { AnswerPart, AnswerRefusal, BufferedAnswer } from "../pipeline/answer.js";
import { looksLikeEventStream, mediaTypeOf } from "../../common/masking/decode.js";
import type { BoundedMaskResult } from "../../common/masking/pool.js";

/** Whole bodies masked ahead of the response stages by the masking pool (prepareMaskAnswer). */
const premasked = new WeakMap<BufferedAnswer, BoundedMaskResult>();

/**
 * Masks a whole body before the response stages run, with the event loop bounded (masking/
 * pool.ts: inline under INLINE_MAX_BYTES, else in a worker); the `mask` stage then uses that
 * result unless an earlier stage replaced the value. A body that masking leaves unchanged is
 * relayed as the upstream's bytes (no pre-scan: the check is on the masked output).
 */
export async function prepareMaskAnswer(ctx: RequestContext, part: BufferedAnswer): Promise<void> {
  premasked.set(part, await maskerOf(ctx).maskBodyBounded(part.bytes, part.contentType, { onInvalidJson: "text" }, true));
}

/**
 * Response stage `mask`. An event-stream chunk goes through the stream's incremental masker.
 * A whole body is masked by what it is, whatever its label: decoded by BOM / charset (strictly;
 * what is not text is refused, never relayed uninspected, unless the profile lets uninspectable
 * bodies pass), JSON masked structurally, an event stream event by event, anything else as text;
 * a transcoded body leaves as UTF-8, relabelled. The relay masks whole bodies ahead of the
 * stages (prepareMaskAnswer: bounded, in the masking pool when large) and this stage uses
 * that result; a body masking leaves unchanged goes out as the upstream's bytes (issue #14).
 */
export function maskAnswer(ctx: RequestContext, part: AnswerPart): AnswerRefusal | undefined {
  if (part.kind === "sse") {
    // throws on an event over the masker's size bound: the relay cuts the stream
    part.out = part.last ? part.masker.end() : part.masker.push(part.bytes);
    return undefined;
  }
  return maskBuffered(ctx, part);
}

function maskBuffered(ctx: RequestContext, part: BufferedAnswer): AnswerRefusal | undefined {
  const masker = maskerOf(ctx);
  const ready = part.replaced ? undefined : premasked.get(part);
  if (ready) return usePremasked(masker.passUninspectable, part, ready);
  // (here: an earlier stage replaced the value, e.g. a filtered search; masked inline)
  const decoded = part.text();
  if (!decoded.ok) {
    if (masker.passUninspectable) {
      // The policy's profile says so explicitly (`passthrough: uninspectable`): relay as is.
      part.uninspectable = true;
      return undefined;
    }
    return { status: 502, code: "UPSTREAM_UNAVAILABLE", message: `the upstream answer cannot be inspected (${decoded.reason})`, reason: "response-uninspectable" };
  }
  if (decoded.transcoded) part.headers["content-type"] = `${mediaTypeOf(part.contentType) || "text/plain"}; charset=utf-8`;
  const json = part.json();
  if (json !== undefined) part.out = JSON.stringify(masker.maskJson(json.value));
  else if (looksLikeEventStream(decoded.text)) {
    const sse = masker.sse();
    part.out = sse.push(Buffer.from(decoded.text)) + sse.end();
  } else part.out = masker.maskText(decoded.text);
  return undefined;
}

/** The `mask` stage's answer from a body the pool masked (same decisions as below). */
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
