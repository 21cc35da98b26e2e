import type { ServerResponse } from "node:http";
import type { RequestContext } from "./context.js";
import type { Outcome } from "./outcome.js";
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

type Stage = (ctx: RequestContext) => Outcome | Promise<Outcome>;

/**
 * THE order of a request through the proxy (DESIGN.md §1). The only place that knows it;
 * stages never call each other, they read earlier stages' outputs from the context.
 */
const STAGES: readonly Stage[] = [
  authenticate,
  selectConnection,
  classify,
  authorize, // operation only: no upstream look-ups for callers without a grant
  guardReservedKeys, // owner tags and gateway identity keys cannot come from the client
  resolveTarget,
  authorize, // operation and graph
  checkResources, // every thread, run, assistant the request names is the caller's (resource table)
  retagThreadsAfterRotation, // searches find threads tagged before a key rotation
  scopeStore, // store namespaces under the caller's scope
  inspectRequest, // before approval and limits: a rejected input files nothing, spends nothing
  approvalGate, // before limits: a run waiting for a reviewer spends no budget
  applyLimits,
  shapeRequest,
  maskRequest,
];

/**
 * Runs the stages, then forwards. Returns the first denial, or CONTINUE once the
 * response has been relayed. Exceptions are bugs or upstream failures; the caller maps them.
 */
export async function runPipeline(ctx: RequestContext, res: ServerResponse): Promise<Outcome> {
  for (const stage of STAGES) {
    const outcome = await stage(ctx);
    if (outcome.kind === "deny") return outcome;
  }
  return forward(ctx, res);
}
