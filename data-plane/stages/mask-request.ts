import { maskerOf, type RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { INLINE_MAX_BYTES } from "../../common/masking/pool.js";

/**
 * Serializes the body sent upstream, masked when the policy says inputs are masked, and
 * stores the masked form in the record in every case (records never hold raw input).
 * A large body is masked off the event loop by the masking pool (masking/pool.ts); one the
 * pool cannot mask within its bounds is refused (fail closed), never forwarded or recorded raw.
 */
export function maskRequest(ctx: RequestContext): Outcome | Promise<Outcome> {
  if (!ctx.json) {
    ctx.outboundBody = ctx.req.body;
    return CONTINUE;
  }
  const raw = JSON.stringify(ctx.json);
  // A small body is masked inline, synchronously (no promise, no microtask: issue #14).
  // integers JSON.parse rounded are judged by the digits the client wrote (a card beyond 2^53)
  if (raw.length < INLINE_MAX_BYTES) return useMasked(ctx, raw, JSON.stringify(maskerOf(ctx).maskJson(ctx.json, ctx.jsonText)));
  return maskerOf(ctx)
    .maskBodyBounded(raw, "application/json", ctx.jsonText === undefined ? {} : { numberSource: ctx.jsonText }, false)
    .then((r) => {
      if (r.ok && !("untouched" in r)) return useMasked(ctx, raw, r.body);
      const why = r.ok ? "untouched" : r.code === "bound" ? r.reason : r.code;
      return deny("BODY_TOO_LARGE", `the request body could not be masked within the gateway's bounds (${why})`, "body-too-large");
    });
}

/** Records the masked body and sends the masked or the raw one, as the policy says. */
function useMasked(ctx: RequestContext, raw: string, masked: string): Outcome {
  ctx.record.requestJson = masked;
  ctx.outboundBody = Buffer.from(ctx.decision?.rule.maskRequests ? masked : raw);
  return CONTINUE;
}
