import { maskerOf, type RequestContext } from "../pipeline/context.js";
import { CONTINUE, type Outcome } from "../pipeline/outcome.js";

/**
 * Serializes the body sent upstream, masked when the policy says inputs are masked, and
 * stores the masked form in the record in every case (records never hold raw input).
 */
export function maskRequest(ctx: RequestContext): Outcome {
  if (!ctx.json) {
    ctx.outboundBody = ctx.req.body;
    return CONTINUE;
  }
  const masked = JSON.stringify(maskerOf(ctx).maskJson(ctx.json));
  ctx.record.requestJson = masked;
  ctx.outboundBody = Buffer.from(ctx.decision?.rule.maskRequests ? masked : JSON.stringify(ctx.json));
  return CONTINUE;
}
