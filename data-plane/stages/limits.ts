import { costOf } from "../limits/usage.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

/** Operations that start a run: concurrency slots and cost budgets apply to them. */
export const RUN_OPERATIONS: ReadonlySet<string> = new Set(["runs:create", "runs:stream", "runs:wait"]);

/** The cost of this exchange under its policy: cost per run of the graph plus tokens seen. */
export function exchangeCost(ctx: RequestContext): number {
  const limits = ctx.decision?.rule.limits;
  if (!limits || !ctx.graph || !RUN_OPERATIONS.has(ctx.route?.route.operation ?? "")) return 0;
  return costOf({ graph: ctx.graph, costPerRun: limits.costPerRun, costPer1kTokens: limits.costPer1kTokens, tokens: ctx.usage.total });
}

/**
 * Enforces the granting policy's limits per identity × policy (DESIGN.md §6): a token
 * bucket on every request, concurrent runs, and a daily cost budget reserved before a run
 * (its configured cost per run) and settled after it with the tokens reported in the
 * stream. Counters are local, or shared by all proxies through Redis. Must run after
 * thread-ownership (it keys on the caller's owner tag).
 */
export async function applyLimits(ctx: RequestContext): Promise<Outcome> {
  const rule = ctx.decision!.rule;
  const limits = rule.limits;
  if (!limits) return CONTINUE;
  const limiter = ctx.services.limiter;
  const key = `${rule.id}:${ctx.ownerTag}`;

  if (limits.requestsPerMinute > 0) {
    const taken = await limiter.takeToken(`rate:${key}`, limits.requestsPerMinute, limits.burst || limits.requestsPerMinute);
    if (!taken.ok) return deny("RATE_LIMITED", `rate limit of ${limits.requestsPerMinute} requests per minute reached`, "rate-limited", taken.retryAfterMs / 1000);
  }
  if (!RUN_OPERATIONS.has(ctx.route!.route.operation)) return CONTINUE;

  if (limits.concurrentRuns > 0) {
    const slot = await limiter.acquireSlot(`runs:${key}`, limits.concurrentRuns);
    if (!slot.ok) return deny("CONCURRENCY_LIMITED", `at most ${limits.concurrentRuns} concurrent runs`, "concurrency-limited", slot.retryAfterMs / 1000);
    ctx.cleanups.push(() => slot.release());
  }
  if (limits.costBudgetPerDay > 0) {
    const estimate = exchangeCost(ctx);
    const reserved = await limiter.reserveCost(`cost:${key}`, estimate, limits.costBudgetPerDay);
    if (!reserved.ok) return deny("BUDGET_EXHAUSTED", `daily cost budget of ${limits.costBudgetPerDay} is spent`, "budget-exhausted", reserved.retryAfterMs / 1000);
    ctx.cleanups.push(() => reserved.settle(exchangeCost(ctx)));
  }
  return CONTINUE;
}
