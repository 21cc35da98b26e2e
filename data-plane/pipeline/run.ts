import type { ServerResponse } from "node:http";
import type { RequestContext } from "./context.js";
import type { Outcome } from "./outcome.js";
import type { AnswerPart, AnswerRefusal } from "./answer.js";
import { stageTimings, type StageSlot } from "../../common/observability/stage-timings.js";
import { authenticate } from "../stages/authenticate.js";
import { selectConnection } from "../stages/select-connection.js";
import { classify } from "../stages/classify.js";
import { authorize } from "../stages/authorize.js";
import { resolveTarget } from "../stages/resolve-target.js";
import { guardReservedKeys } from "../stages/reserved-keys.js";
import { checkResources } from "../stages/resources.js";
import { scopeStore } from "../stages/store-scope.js";
import { retagThreadsAfterRotation } from "../stages/retag-threads.js";
import { inspectRequest } from "../stages/inspect-request.js";
import { applyLimits } from "../stages/limits.js";
import { approvalGate } from "../stages/approval-gate.js";
import { shapeRequest } from "../stages/shape-request.js";
import { maskRequest } from "../stages/mask-request.js";
import { forward } from "../stages/forward.js";
import { filterAnswer } from "../stages/filter-response.js";
import { maskAnswer } from "../stages/mask-response.js";
import { scrubAnswer } from "../stages/scrub-response.js";
import { countAnswerUsage } from "../stages/count-usage.js";
import { recordAnswer } from "../stages/record-response.js";

/** A request stage: synchronous when it has nothing to wait for (the common case), a promise when it does. */
type Stage = (ctx: RequestContext) => Outcome | Promise<Outcome>;
/** A response stage; `mask` may wait for the masking pool (a large body or event), the others answer at once. */
type ResponseStage = (ctx: RequestContext, part: AnswerPart) => AnswerRefusal | undefined | Promise<AnswerRefusal | undefined>;

/**
 * THE order of a request through the proxy (DESIGN.md §1). The only place that knows it;
 * stages never call each other, they read earlier stages' outputs from the context.
 * Each has a name: its latency histogram's `stage` label.
 */
const STAGES: ReadonlyArray<readonly [string, Stage]> = [
  ["authenticate", authenticate],
  ["select-connection", selectConnection],
  ["classify", classify],
  ["authorize-operation", authorize], // operation only: no upstream look-ups for callers without a grant
  ["guard-reserved-keys", guardReservedKeys], // owner tags and gateway identity keys cannot come from the client
  ["resolve-target", resolveTarget],
  ["authorize-graph", authorize], // operation and graph
  ["check-resources", checkResources], // every thread, run, assistant the request names is the caller's (resource table)
  ["retag-threads", retagThreadsAfterRotation], // searches find threads tagged before a key rotation
  ["scope-store", scopeStore], // store namespaces under the caller's scope
  ["inspect-request", inspectRequest], // before approval and limits: a rejected input files nothing, spends nothing
  ["approval-gate", approvalGate], // before limits: a run waiting for a reviewer spends no budget
  ["limits", applyLimits],
  ["shape-request", shapeRequest],
  ["mask-request", maskRequest],
];

/**
 * THE order of the upstream's answer back to the caller: for a whole body once, for an event
 * stream on every chunk. A stage may refuse a whole body (the caller then gets the refusal's
 * error instead); a streamed chunk is already on its way, so its stages throw to cut the stream.
 */
const RESPONSE_STAGES: ReadonlyArray<readonly [string, ResponseStage]> = [
  ["filter", filterAnswer], // ownership and visibility of what the upstream returned
  ["mask", maskAnswer], // the profile's rules, bounded (large bodies and events in the masking pool); untouched bytes when masking changes nothing
  ["scrub", scrubAnswer], // the upstream credential never reaches the caller
  ["count-usage", countAnswerUsage], // model tokens of run output, for cost budgets
  ["record", recordAnswer], // into the session record, as the caller received it
];

// Timed with two hrtime reads per stage into pre-bound histogram slots (see stage-timings.ts).
const REQUEST_SLOTS: readonly StageSlot[] = STAGES.map(([name]) => stageTimings.slot("request", name));
const FORWARD_SLOT = stageTimings.slot("request", "forward");
const RESPONSE_SLOTS: readonly StageSlot[] = RESPONSE_STAGES.map(([name]) => stageTimings.slot("response", name));

/** The stage names in order, request then response (for docs and tests). */
export const STAGE_NAMES = { request: [...STAGES.map(([n]) => n), "forward"], response: RESPONSE_STAGES.map(([n]) => n) };

/**
 * Runs the stages, then forwards. Returns the first denial, or CONTINUE once the
 * response has been relayed. Exceptions are bugs or upstream failures; the caller maps them.
 * (`forward` is timed until the response is relayed, so its histogram holds the upstream's time.)
 */
export async function runPipeline(ctx: RequestContext, res: ServerResponse): Promise<Outcome> {
  // One clock read per stage boundary: a stage's end is the next one's start.
  let started = process.hrtime.bigint();
  for (let i = 0; i < STAGES.length; i++) {
    const result = STAGES[i]![1](ctx);
    // Most stages answer synchronously for most requests (no side call, no pool, no limiter):
    // awaiting only real promises saves a microtask turn per stage (issue #14).
    const outcome = result instanceof Promise ? await result : result;
    const ended = process.hrtime.bigint();
    REQUEST_SLOTS[i]!.observeNs(Number(ended - started));
    started = ended;
    if (outcome.kind === "deny") return outcome;
  }
  try {
    return await forward(ctx, res);
  } finally {
    FORWARD_SLOT.observeNs(Number(process.hrtime.bigint() - started));
  }
}

/** Runs the response stages over one part of the answer; returns the first refusal. */
export async function runResponseStages(ctx: RequestContext, part: AnswerPart): Promise<AnswerRefusal | undefined> {
  let started = process.hrtime.bigint();
  for (let i = 0; i < RESPONSE_STAGES.length; i++) {
    const result = RESPONSE_STAGES[i]![1](ctx, part);
    const refusal = result instanceof Promise ? await result : result; // no extra turn for the synchronous stages
    const ended = process.hrtime.bigint();
    RESPONSE_SLOTS[i]!.observeNs(Number(ended - started));
    started = ended;
    if (refusal) return refusal;
  }
  return undefined;
}
