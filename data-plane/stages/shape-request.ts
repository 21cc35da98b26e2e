import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { graphVisible } from "../policy/evaluate.js";
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
  const searchedGraphs = narrowAssistantSearch(ctx);
  if (searchedGraphs) return searchedGraphs;
  // The response filters need the owner tag and the graph of each item: a `select` keeps them.
  if (op === "threads:search" && pattern === "/threads/search") keepSelected(ctx.json, "metadata");
  if (op === "assistants:search" && pattern === "/assistants/search") keepSelected(ctx.json, "graph_id");
  if (TAGGED_ON_CREATE.has(op) && pattern !== "/threads/{thread}/copy") withOwner((ctx.json ??= {}), tag);
  else if (op === "threads:search" && !ctx.decision!.threadsAny) withOwner((ctx.json ??= {}), tag);
  else if (op === "threads:update" && pattern === "/threads/{thread}" && ctx.json && "metadata" in ctx.json) {
    withOwner(ctx.json, ctx.threadOwner ?? tag);
  } else if (op === "assistants:update" && pattern === "/assistants/{assistant}" && ctx.json && "metadata" in ctx.json) {
    withOwner(ctx.json, tag); // only its owner gets here (resources)
  }
  return CONTINUE;
}

function keepSelected(body: Record<string, unknown> | undefined, field: string): void {
  const select = body?.["select"];
  if (Array.isArray(select) && !select.includes(field)) select.push(field);
}

/**
 * Assistant counts are computed by the upstream over every graph: one naming a graph the
 * caller may not use is refused like any use of that graph (403), and one over all graphs
 * is refused unless the caller may use every graph (the count would include hidden ones).
 */
function narrowAssistantSearch(ctx: RequestContext): Outcome | undefined {
  if (ctx.route!.route.pattern !== "/assistants/count") return undefined;
  const rules = ctx.decision!.rules;
  const graph = ctx.json?.["graph_id"];
  if (typeof graph === "string") {
    return graphVisible(rules, graph) ? undefined : deny("POLICY_DENIED", `not allowed: graph ${JSON.stringify(graph)} (graph-not-allowed)`, "graph-not-allowed");
  }
  if (rules.some((r) => r.graphs.any)) return undefined;
  return deny("BAD_REQUEST", "count assistants per graph (graph_id): a count over all graphs would include graphs this policy does not allow");
}
