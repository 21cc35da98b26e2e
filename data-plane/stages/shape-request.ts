import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, type Outcome } from "../pipeline/outcome.js";
import { OWNER_KEY } from "./thread-ownership.js";

function withOwner(body: Record<string, unknown>, tag: string): void {
  const metadata = body["metadata"];
  body["metadata"] = { ...(metadata && typeof metadata === "object" && !Array.isArray(metadata) ? metadata : {}), [OWNER_KEY]: tag };
}

/**
 * Rewrites bodies for thread ownership: new threads are tagged with the caller; thread
 * searches are narrowed to the caller's threads (unless `threads:read:any`); metadata
 * updates cannot change the owner. Must run after check-thread-ownership.
 */
export function shapeRequest(ctx: RequestContext): Outcome {
  const op = ctx.route!.route.operation;
  const pattern = ctx.route!.route.pattern;
  const tag = ctx.ownerTag!;
  if (op === "threads:create" && pattern === "/threads") withOwner((ctx.json ??= {}), tag);
  else if (op === "threads:search" && !ctx.decision!.threadsAny) withOwner((ctx.json ??= {}), tag);
  else if (op === "threads:update" && pattern === "/threads/{thread}" && ctx.json && "metadata" in ctx.json) {
    withOwner(ctx.json, ctx.threadOwner ?? tag);
  }
  return CONTINUE;
}
