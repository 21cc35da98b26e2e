/**
 * Rules about runs that several stages share (admission, approval, usage counting, the
 * relay): which exchanges start a run, whether a run outlives its caller's hang-up, what a
 * run costs and what it reserves. Functions of the request context only.
 */
import { costOf } from "./usage.js";
import type { Limits } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { RequestContext } from "../pipeline/context.js";

/** Operations that start a run: concurrency slots and cost budgets apply to them. */
export const RUN_OPERATIONS: ReadonlySet<string> = new Set(["runs:create", "runs:stream", "runs:wait"]);

/** The exchange starts a run upstream (joining an existing run's stream does not). */
export function startsRun(ctx: RequestContext): boolean {
  return ctx.req.method === "POST" && RUN_OPERATIONS.has(ctx.route?.route.operation ?? "");
}

/**
 * The run this exchange starts goes on upstream when its caller hangs up: everything but a
 * stream created with `on_disconnect: "cancel"` (LangGraph's default is "continue"; `runs/wait`
 * never cancels; a background run was never tied to the exchange). For those the proxy does not
 * cut the upstream response when the caller leaves: it reads it to the end (the run's end), so
 * the run keeps its slot and its cost is still counted.
 */
export function runOutlivesHangUp(ctx: RequestContext): boolean {
  if (!startsRun(ctx)) return false;
  return !(ctx.route!.route.operation === "runs:stream" && ctx.json?.["on_disconnect"] === "cancel");
}

/** The cost of this exchange under its policy: cost per run of the graph plus tokens seen. */
export function exchangeCost(ctx: RequestContext): number {
  const limits = ctx.decision?.rule.limits;
  if (!limits || !ctx.graph || !startsRun(ctx)) return 0;
  return costOf({ graph: ctx.graph, costPerRun: limits.costPerRun, costPer1kTokens: limits.costPer1kTokens, tokens: ctx.usage.total });
}

/**
 * What to reserve for a run at admission: `amount` (its ceiling) and the least that still
 * admits it. A set `maxCostPerRun` (at least the graph's cost per run) is all or nothing; token
 * pricing without a ceiling reserves everything left of the budget (one run at a time, never
 * past the budget); otherwise the run costs exactly its cost per run.
 */
export function runReservation(limits: Limits, graph: string): { amount: number; minimum: number } {
  const perRun = costOf({ graph, costPerRun: limits.costPerRun, costPer1kTokens: 0, tokens: 0 });
  if (limits.maxCostPerRun > 0) {
    const ceiling = Math.max(perRun, limits.maxCostPerRun);
    return { amount: ceiling, minimum: ceiling };
  }
  if (limits.costPer1kTokens > 0) return { amount: limits.costBudgetPerDay, minimum: perRun };
  return { amount: perRun, minimum: perRun };
}
