import { costOf } from "../limits/usage.js";
import { runTokensFromHistory } from "../limits/run-usage.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { basePath } from "../upstream/pools.js";
import { outboundHeaders } from "../upstream/outbound-headers.js";
import { assertions } from "../upstream/assertion.js";
import type { RunEnd } from "../limits/run-tracker.js";
import { log } from "../../common/observability/log.js";
import { runReservation, startsRun } from "../limits/run-rules.js";

/** What an admitted run holds until it ends: its concurrency slot and its cost reservation. */
interface RunHold {
  release?: () => Promise<void>;
  reserved?: number;
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
export function applyLimits(ctx: RequestContext): Outcome | Promise<Outcome> {
  // Synchronous for a policy without limits (no promise, no microtask: issue #14).
  return ctx.decision!.rule.limits ? applyRuleLimits(ctx) : CONTINUE;
}

async function applyRuleLimits(ctx: RequestContext): Promise<Outcome> {
  const rule = ctx.decision!.rule;
  const limits = rule.limits!;
  const limiter = ctx.services.limiter;
  const key = `${rule.id}:${ctx.ownerTag}`;

  if (limits.requestsPerMinute > 0) {
    const taken = await limiter.takeToken(`rate:${key}`, limits.requestsPerMinute, limits.burst || limits.requestsPerMinute);
    if (!taken.ok) return deny("RATE_LIMITED", `rate limit of ${limits.requestsPerMinute} requests per minute reached`, "rate-limited", taken.retryAfterMs / 1000);
  }
  const runsBounded = limits.concurrentRuns > 0 || limits.costBudgetPerDay > 0;
  // A cron's runs are started later by the upstream's scheduler, with no run id or callback the
  // gateway could follow: they would run outside concurrentRuns and the budget. Refused where
  // the policy bounds runs (allowed where it does not).
  if (runsBounded && ctx.route?.route.operation === "crons:create") {
    return deny("POLICY_DENIED", "crons start runs the gateway cannot count; not allowed under a policy that limits concurrent runs or cost", "cron-unbounded");
  }
  if (!startsRun(ctx) || !runsBounded) return CONTINUE;
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
    const { amount, minimum } = runReservation(limits, ctx.graph ?? "");
    const reserved = await limiter.reserveCost(`cost:${key}`, amount, limits.costBudgetPerDay, undefined, minimum);
    if (!reserved.ok) return deny("BUDGET_EXHAUSTED", `daily cost budget of ${limits.costBudgetPerDay} is spent or reserved by runs under way`, "budget-exhausted", reserved.retryAfterMs / 1000);
    hold.reserved = reserved.reserved;
    hold.settle = (actual) => reserved.settle(actual);
  }
  return CONTINUE;
}

/**
 * What a finished run is charged, never more than its reservation: its cost per run plus the
 * tokens it used, read from its thread's checkpoints when it has one (whatever the call style),
 * else from the relayed answer (a stream of modes carrying usage, a stateless `runs/wait`).
 * A run whose usage cannot be read at all is charged its whole reservation.
 */
async function runCost(ctx: RequestContext, hold: RunHold): Promise<number> {
  const limits = ctx.decision!.rule.limits!;
  const reserved = hold.reserved ?? 0;
  // Never reached the upstream, or the upstream refused to start it (no run named, not 2xx).
  if (!ctx.graph || ctx.record.decision !== "allow" || (!ctx.startedRun && ctx.record.status >= 300)) return 0;
  const priced = (tokens: number) => Math.min(reserved, costOf({ graph: ctx.graph!, costPerRun: limits.costPerRun, costPer1kTokens: limits.costPer1kTokens, tokens }));
  if (!(limits.costPer1kTokens > 0)) return priced(0);
  const run = ctx.startedRun;
  const threadId = run?.threadId ?? ctx.threadId;
  if (run && threadId) {
    const conn = ctx.connection!;
    const tokens = await runTokensFromHistory(ctx.services.pools.get(conn), `${basePath(conn)}/threads/${threadId}`, run.runId, upstreamHeaders(ctx));
    if (tokens !== undefined) return priced(tokens);
  }
  return ctx.usage.readable ? priced(ctx.usage.total) : reserved;
}

/** Headers for the gateway's own calls about the caller's run (credential, the caller's identity). */
function upstreamHeaders(ctx: RequestContext): Record<string, string> {
  const identity = ctx.identity!;
  return outboundHeaders({ accept: "application/json" }, ctx.connection!, identity, ctx.req.id, assertions.sign(ctx.state.policy.assertionKey, identity));
}

/** Lets go of what the run held: now, or when the run tracker sees a background run end. */
async function endRun(ctx: RequestContext, hold: RunHold): Promise<void> {
  const finish = async (): Promise<void> => {
    await hold.release?.();
    if (hold.settle) await hold.settle(await runCost(ctx, hold));
  };
  const run = ctx.startedRun;
  if (ctx.route!.route.operation !== "runs:create" || ctx.record.decision !== "allow" || !run?.threadId) return finish();
  // A background run: created upstream (2xx with its ids), still working after the exchange.
  const conn = ctx.connection!;
  ctx.services.runTracker.follow({
    pool: ctx.services.pools.get(conn),
    path: `${basePath(conn)}/threads/${run.threadId}/runs/${run.runId}`,
    headers: () => upstreamHeaders(ctx),
    onEnd: async (end: RunEnd) => {
      if (end === "timed-out") log.warn("background run followed past its bound: slot released", { requestId: ctx.req.id, runId: run.runId });
      await finish();
    },
  });
}
