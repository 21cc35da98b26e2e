import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, type Outcome } from "../pipeline/outcome.js";
import { OWNER_KEY } from "../langgraph/owner-tag.js";

function withOwner(body: Record<string, unknown>, tag: string): void {
  const metadata = body["metadata"];
  body["metadata"] = { ...(metadata && typeof metadata === "object" && !Array.isArray(metadata) ? metadata : {}), [OWNER_KEY]: tag };
}

/**
 * Operations whose body metadata becomes the metadata of something the caller then owns:
 * new threads and assistants, and runs (a run's metadata becomes the metadata of the thread
 * a stateless run keeps, and of the run itself).
 */
const TAGGED_ON_CREATE = new Set(["threads:create", "assistants:create", "runs:create", "runs:stream", "runs:wait", "crons:create"]);

/**
 * Rewrites bodies for ownership: what the caller creates is tagged with its owner tag;
 * thread searches are narrowed to the caller's threads (unless `threads:read:any`); metadata
 * updates keep the resource's owner. Client-sent owner keys never get this far
 * (guard-reserved-keys). Must run after the ownership checks.
 */
export function shapeRequest(ctx: RequestContext): Outcome {
  const op = ctx.route!.route.operation;
  const pattern = ctx.route!.route.pattern;
  const tag = ctx.ownerTag!;
  if (TAGGED_ON_CREATE.has(op) && pattern !== "/threads/{thread}/copy") withOwner((ctx.json ??= {}), tag);
  else if (op === "threads:search" && !ctx.decision!.threadsAny) withOwner((ctx.json ??= {}), tag);
  else if (op === "threads:update" && pattern === "/threads/{thread}" && ctx.json && "metadata" in ctx.json) {
    withOwner(ctx.json, ctx.threadOwner ?? tag);
  } else if (op === "assistants:update" && pattern === "/assistants/{assistant}" && ctx.json && "metadata" in ctx.json) {
    withOwner(ctx.json, tag); // only its owner gets here (resources)
  }
  return CONTINUE;
}
