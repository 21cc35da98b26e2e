import { evaluate } from "../policy/evaluate.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

/**
 * Evaluates the request against the snapshot. Runs twice: before the target is resolved
 * (operation only, so callers without any grant cause no upstream look-up) and after
 * (operation and graph). Must run after authenticate, select-connection and classify.
 */
export function authorize(ctx: RequestContext): Outcome {
  const who = ctx.identity!;
  const decision = evaluate(ctx.state.policy, who, ctx.connection!.id, ctx.route!.route.operation, ctx.graph);
  ctx.record.reasons = [decision.reason];
  if (!decision.allow) {
    if (decision.reason === "identity-suspended") return deny("IDENTITY_SUSPENDED", "this identity is suspended", decision.reason);
    // An assistant named by id whose graph is hidden looks exactly like one that does not exist.
    if (decision.reason === "graph-not-allowed" && ctx.assistantId !== undefined && ctx.assistantId !== ctx.graph) {
      return deny("NOT_FOUND", `assistant ${ctx.assistantId} not found`, decision.reason);
    }
    const what = decision.reason === "graph-not-allowed" ? `graph ${JSON.stringify(ctx.graph)}` : ctx.route!.route.operation;
    return deny("POLICY_DENIED", `not allowed: ${what} (${decision.reason})`, decision.reason);
  }
  ctx.decision = decision;
  // PATCH /assistants/{id} may move the assistant to another graph: that graph must be allowed too.
  const newGraph = ctx.route!.route.operation === "assistants:update" ? ctx.json?.["graph_id"] : undefined;
  if (typeof newGraph === "string" && ctx.graph !== undefined && newGraph !== ctx.graph) {
    const target = evaluate(ctx.state.policy, who, ctx.connection!.id, "assistants:update", newGraph);
    if (!target.allow) return deny("POLICY_DENIED", `not allowed: graph ${JSON.stringify(newGraph)} (${target.reason})`, target.reason);
  }
  return CONTINUE;
}
