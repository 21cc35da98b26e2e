import { maskerOf, type RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { INLINE_MAX_BYTES } from "../../common/masking/pool.js";

/**
 * Serializes the body sent upstream, masked when the policy says inputs are masked, and
 * stores the masked form in the record in every case (records never hold raw input).
 * A large body is masked off the event loop by the masking pool (masking/pool.ts); one the
 * pool cannot mask within its bounds is refused (fail closed), never forwarded or recorded raw.
 */
export async function maskRequest(ctx: RequestContext): Promise<Outcome> {
  if (!ctx.json) {
    ctx.outboundBody = ctx.req.body;
    return CONTINUE;
  }
  const raw = JSON.stringify(ctx.json);
  let masked: string;
  if (raw.length < INLINE_MAX_BYTES) masked = JSON.stringify(maskerOf(ctx).maskJson(ctx.json));
  else {
    const r = await maskerOf(ctx).maskBodyBounded(raw, "application/json", {}, false);
    if (!r.ok || "untouched" in r) {
      const why = r.ok ? "untouched" : r.code === "bound" ? r.reason : r.code;
      return deny("BODY_TOO_LARGE", `the request body could not be masked within the gateway's bounds (${why})`, "body-too-large");
    }
    masked = r.body;
  }
  ctx.record.requestJson = masked;
  ctx.outboundBody = Buffer.from(ctx.decision?.rule.maskRequests ? masked : raw);
  return CONTINUE;
}
