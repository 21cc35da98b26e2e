import { sideCall } from "../upstream/side-calls.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

const ASSISTANT_WRITES = new Set(["assistants:update", "assistants:delete"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Finds the graph a request targets. An assistant id that is not a UUID is a graph id
 * (LangGraph's default assistant of that graph); a UUID is looked up upstream, cached.
 */
export function resolveTarget(ctx: RequestContext): Outcome | Promise<Outcome> {
  const id = ctx.assistantId;
  if (id === undefined || ctx.graph !== undefined) return CONTINUE;
  if (!UUID.test(id)) {
    ctx.graph = id;
    return CONTINUE;
  }
  return resolveAssistant(ctx, id);
}

/** An assistant named by UUID: its graph from the cache, or from the upstream. */
async function resolveAssistant(ctx: RequestContext, id: string): Promise<Outcome> {
  const conn = ctx.connection!;
  const key = `${conn.id}\u0000${id.toLowerCase()}`;
  // Writes to an assistant can change its graph: resolve them fresh and forget the cached one.
  const writes = ASSISTANT_WRITES.has(ctx.route!.route.operation);
  if (writes) ctx.services.assistantGraphs.delete(key);
  let graph = writes ? undefined : ctx.services.assistantGraphs.get(key);
  if (graph === undefined) {
    const res = await sideCall(ctx.services.pools, conn, "GET", `/assistants/${encodeURIComponent(id)}`);
    const found = (res.json as { graph_id?: unknown } | undefined)?.graph_id;
    if (res.status === 404 || typeof found !== "string") return deny("NOT_FOUND", `assistant ${id} not found`);
    graph = found;
    if (!writes) ctx.services.assistantGraphs.set(key, graph);
  }
  ctx.graph = graph;
  return CONTINUE;
}
