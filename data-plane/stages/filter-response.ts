import { graphVisible } from "../policy/evaluate.js";
import type { RequestContext } from "../pipeline/context.js";
import { ownerIn } from "../langgraph/owner-tag.js";
import { unscopeStoreResponse } from "./store-scope.js";

/** A JSON response after the ownership and visibility checks, or a replacement error. */
export type FilterResult = { ok: true; json: unknown } | { ok: false; status: number; code: "CONFLICT"; message: string };

/**
 * Checks what the upstream returned against the caller's rights: search results keep only
 * the caller's threads and visible graphs' assistants (defence in depth: the request was
 * already narrowed); a thread create that hit an existing thread of someone else fails.
 */
export function filterResponse(ctx: RequestContext, json: unknown): FilterResult {
  if (ctx.storeScope !== undefined) return { ok: true, json: unscopeStoreResponse(ctx, json) };
  const op = ctx.route!.route.operation;
  const pattern = ctx.route!.route.pattern;
  const decision = ctx.decision!;
  if (op === "threads:search" && Array.isArray(json) && !decision.threadsAny) {
    return { ok: true, json: json.filter((t) => ctx.owner!.owns(ownerIn(t))) };
  }
  if (op === "assistants:search" && Array.isArray(json)) {
    return { ok: true, json: json.filter((a) => typeof a?.graph_id === "string" && graphVisible(decision.rules, a.graph_id)) };
  }
  if (op === "threads:create" && pattern === "/threads" && json && typeof json === "object" && !ctx.owner!.owns(ownerIn(json))) {
    return { ok: false, status: 409, code: "CONFLICT", message: "a thread with this id already exists" };
  }
  return { ok: true, json };
}

/**
 * Response headers that would count what the caller may not see: an assistant search is
 * filtered by graph after the upstream counted it, so its X-Pagination-Total counts hidden
 * assistants (X-Pagination-Next stays: it is an offset into the upstream's list, not a count).
 */
export function filterResponseHeaders(ctx: RequestContext, headers: Record<string, string | string[]>): Record<string, string | string[]> {
  if (ctx.route?.route.operation === "assistants:search" && ctx.decision && !ctx.decision.rules.some((r) => r.graphs.any)) {
    delete headers["x-pagination-total"];
  }
  return headers;
}
