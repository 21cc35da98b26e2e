import { costOf } from "../limits/usage.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { basePath } from "../upstream/pools.js";
import { outboundHeaders } from "../upstream/outbound-headers.js";
import { signAssertion } from "../upstream/assertion.js";
import type { RunEnd } from "../limits/run-tracker.js";
import { log } from "../observability/log.js";

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

/** What an admitted run holds until it ends: its concurrency slot and its cost reservation. */
interface RunHold {
  release?: () => Promise<void>;
  settle?: (actual: number) => Promise<void>;
}

/**
 * Enforces the granting policy's limits per identity × policy (DESIGN.md §6): a token
 * bucket on every request, concurrent runs, and a daily cost budget reserved before a run
 * (its configured cost per run) and settled after it with the tokens reported in the
 * stream. A run holds its slot and reservation until it ends upstream: a background run is
 * followed by the run tracker (see endRun). Counters are local, or shared by all proxies
 * through Redis. Must run after thread-ownership (it keys on the caller's owner tag).
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
  if (!startsRun(ctx) || (limits.concurrentRuns <= 0 && limits.costBudgetPerDay <= 0)) return CONTINUE;
  // A run the proxy could not follow would escape its limits: refuse rather than lose count.
  if (ctx.services.runTracker.full) return deny("CONCURRENCY_LIMITED", "the gateway is following as many runs as it can; try again later", "concurrency-limited", 1);

  const hold: RunHold = {};
  ctx.cleanups.push(() => endRun(ctx, hold));
  if (limits.concurrentRuns > 0) {
    const slot = await limiter.acquireSlot(`runs:${key}`, limits.concurrentRuns);
    if (!slot.ok) return deny("CONCURRENCY_LIMITED", `at most ${limits.concurrentRuns} concurrent runs`, "concurrency-limited", slot.retryAfterMs / 1000);
    hold.release = () => slot.release();
  }
  if (limits.costBudgetPerDay > 0) {
    const estimate = exchangeCost(ctx);
    const reserved = await limiter.reserveCost(`cost:${key}`, estimate, limits.costBudgetPerDay);
    if (!reserved.ok) return deny("BUDGET_EXHAUSTED", `daily cost budget of ${limits.costBudgetPerDay} is spent`, "budget-exhausted", reserved.retryAfterMs / 1000);
    hold.settle = (actual) => reserved.settle(actual);
  }
  return CONTINUE;
}

/** Lets go of what the run held: now, or when the run tracker sees a background run end. */
async function endRun(ctx: RequestContext, hold: RunHold): Promise<void> {
  const finish = async (): Promise<void> => {
    await hold.release?.();
    await hold.settle?.(exchangeCost(ctx));
  };
  const run = ctx.startedRun;
  if (ctx.route!.route.operation !== "runs:create" || !run?.threadId) return finish();
  // A background run: created upstream (2xx with its ids), still working after the exchange.
  const conn = ctx.connection!;
  const identity = ctx.identity!;
  const assertionKey = ctx.state.policy.assertionKey;
  ctx.services.runTracker.follow({
    pool: ctx.services.pools.get(conn),
    path: `${basePath(conn)}/threads/${run.threadId}/runs/${run.runId}`,
    headers: () => outboundHeaders({ accept: "application/json" }, conn, identity, ctx.req.id, signAssertion(assertionKey, identity, ctx.req.id)),
    onEnd: async (end: RunEnd) => {
      if (end === "timed-out") log.warn("background run followed past its bound: slot released", { requestId: ctx.req.id, runId: run.runId });
      await finish();
    },
  });
}
