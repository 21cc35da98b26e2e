import { scopedKey } from "../policy/compiled-policy.js";
import { maskerOf, type RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { RUN_OPERATIONS } from "../limits/run-rules.js";
import { log } from "../../common/observability/log.js";

const GATED = new Set([...RUN_OPERATIONS, "crons:create"]);

/**
 * Just-in-time approval: when the granting policy requires a reviewer, a run starts only
 * under an approved, unexpired grant for this identity, connection and graph (carried by
 * the snapshot). Otherwise the request is filed with the control plane (masked parameters)
 * and the caller gets 428 with the request's id to show a reviewer; retrying after the
 * approval succeeds. A grant limited to N uses (policy approval.grantUses) is spent on the
 * control plane, one use per gated call, before the call is forwarded: the control plane
 * is the one counter shared by every proxy, and when it cannot be reached the call is
 * refused (503), never let through uncounted. Must run after authorize and inspect-request.
 */
export function approvalGate(ctx: RequestContext): Outcome | Promise<Outcome> {
  // Synchronous when the call is not gated (most calls): no promise, no microtask (issue #14).
  if (!ctx.decision!.rule.approval?.required || !GATED.has(ctx.route!.route.operation)) return CONTINUE;
  return gate(ctx);
}

async function gate(ctx: RequestContext): Promise<Outcome> {
  const rule = ctx.decision!.rule;
  const operation = ctx.route!.route.operation;
  const who = ctx.identity!;
  const now = Date.now();
  const grants = ctx.state.policy.grants.get(scopedKey(who.issuer, who.subject)) ?? [];
  const matching = grants.filter(
    (g) => g.connectionId === ctx.connection!.id && g.graph === ctx.graph && (g.operation === "" || g.operation === operation) && Number(g.expiresAtMs) > now,
  );
  if (matching.some((g) => g.uses === 0)) return CONTINUE; // unlimited within its time box
  for (const g of matching) {
    try {
      if (await ctx.services.approvals.consumeGrant(g.id, ctx.req.id)) return CONTINUE;
    } catch (err) {
      log.warn("grant use not counted", { requestId: ctx.req.id, grant: g.id, err });
      return deny("APPROVAL_UNAVAILABLE", "this call runs under an approval with limited uses, which cannot be counted right now; retry later", "approval-required", 5);
    }
  }
  let ticket: { id: string; status: string; reviewUrl: string } | undefined;
  try {
    ticket = await ctx.services.approvals.request({
      issuer: who.issuer,
      subject: who.subject,
      email: who.email ?? "",
      connectionId: ctx.connection!.id,
      graph: ctx.graph ?? "",
      operation,
      policyId: rule.id,
      parametersJson: ctx.json ? JSON.stringify(maskerOf(ctx).maskJson(ctx.json)) : "",
    });
  } catch (err) {
    log.warn("approval request not filed", { requestId: ctx.req.id, err });
  }
  const message = ticket
    ? ticket.status === "approved"
      ? `approval request ${ticket.id} is approved; the grant reaches this gateway within seconds, retry shortly`
      : `graph ${JSON.stringify(ctx.graph)} requires approval: request ${ticket.id} is ${ticket.status}; retry once a reviewer approved it${ticket.reviewUrl ? ` (review: ${ticket.reviewUrl})` : ""}`
    : `graph ${JSON.stringify(ctx.graph)} requires approval, and the request could not be filed right now; retry later`;
  return deny("APPROVAL_REQUIRED", message, "approval-required", ticket?.status === "approved" ? 1 : undefined);
}
