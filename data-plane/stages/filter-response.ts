import { graphVisible } from "../policy/evaluate.js";
import type { RequestContext } from "../pipeline/context.js";
import type { AnswerPart, AnswerRefusal } from "../pipeline/answer.js";
import { ownerIn } from "../langgraph/owner-tag.js";
import { unscopeStoreResponse } from "./store-scope.js";

/** A JSON response after the ownership and visibility checks, or a replacement error. */
export type FilterResult = { ok: true; json: unknown } | { ok: false; status: number; code: "CONFLICT"; message: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether the caller's rules let it see assistants of every graph (nothing to hide in a search). */
function seesEveryGraph(ctx: RequestContext): boolean {
  return ctx.decision!.rules.some((r) => r.graphs.any);
}

/**
 * Whether the response filter can change or refuse this exchange's answer (or must read it, for
 * the run a background run created). When false the answer needs no parsing for filtering.
 */
export function responseFilterApplies(ctx: RequestContext): boolean {
  if (ctx.storeScope !== undefined) return true;
  const { operation: op, pattern } = ctx.route!.route;
  if (op === "threads:search") return !ctx.decision!.threadsAny;
  if (op === "assistants:search") return !seesEveryGraph(ctx);
  if (op === "threads:create") return pattern === "/threads";
  return op === "runs:create";
}

/**
 * Checks what the upstream returned against the caller's rights: search results keep only
 * the caller's threads and visible graphs' assistants (defence in depth: the request was
 * already narrowed); a thread create that hit an existing thread of someone else fails.
 * Returns `json` itself when nothing is filtered.
 */
export function filterResponse(ctx: RequestContext, json: unknown): FilterResult {
  if (ctx.storeScope !== undefined) return { ok: true, json: unscopeStoreResponse(ctx, json) };
  const op = ctx.route!.route.operation;
  const pattern = ctx.route!.route.pattern;
  const decision = ctx.decision!;
  if (op === "threads:search" && Array.isArray(json) && !decision.threadsAny) {
    return { ok: true, json: json.filter((t) => ctx.owner!.owns(ownerIn(t))) };
  }
  if (op === "assistants:search" && Array.isArray(json) && !seesEveryGraph(ctx)) {
    return { ok: true, json: json.filter((a) => typeof a?.graph_id === "string" && graphVisible(decision.rules, a.graph_id)) };
  }
  if (op === "threads:create" && pattern === "/threads" && json && typeof json === "object" && !ctx.owner!.owns(ownerIn(json))) {
    return { ok: false, status: 409, code: "CONFLICT", message: "a thread with this id already exists" };
  }
  return { ok: true, json };
}

/** The ids of a run the upstream says it created (a background run's answer), if well-formed. */
function createdRun(json: unknown): { runId: string; threadId?: string } | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const { run_id: runId, thread_id: threadId } = json as Record<string, unknown>;
  if (typeof runId !== "string" || !UUID.test(runId)) return undefined;
  return typeof threadId === "string" && UUID.test(threadId) ? { runId, threadId } : { runId };
}

/** Response stage `filter`: applies filterResponse to a successful JSON answer (parsing it only when it applies). */
export function filterAnswer(ctx: RequestContext, part: AnswerPart): AnswerRefusal | undefined {
  if (part.kind !== "buffered" || part.status >= 300 || !responseFilterApplies(ctx)) return undefined;
  const json = part.json();
  if (json === undefined) return undefined;
  const filtered = filterResponse(ctx, json.value);
  if (!filtered.ok) return { status: filtered.status, code: filtered.code, message: filtered.message, reason: "thread-not-owned" };
  part.replaceJson(filtered.json);
  if (ctx.route!.route.operation === "runs:create") ctx.startedRun = createdRun(filtered.json) ?? ctx.startedRun;
  return undefined;
}

/**
 * Response headers that would count what the caller may not see: an assistant search is
 * filtered by graph after the upstream counted it, so its X-Pagination-Total counts hidden
 * assistants (X-Pagination-Next stays: it is an offset into the upstream's list, not a count).
 */
export function filterResponseHeaders(ctx: RequestContext, headers: Record<string, string | string[]>): Record<string, string | string[]> {
  if (ctx.route?.route.operation === "assistants:search" && ctx.decision && !seesEveryGraph(ctx)) {
    delete headers["x-pagination-total"];
  }
  return headers;
}
