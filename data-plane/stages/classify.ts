import { matchRoute } from "../../common/langgraph/routes.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Maps method + path (+ the body fields that matter) to a LangGraph operation, the target
 * assistant and thread (DESIGN.md §4). Unknown routes are denied; bodies must be JSON objects.
 */
export function classify(ctx: RequestContext): Outcome {
  const match = matchRoute(ctx.req.method, ctx.req.pathname);
  if (!match) return deny("ROUTE_UNKNOWN", `${ctx.req.method} ${ctx.req.pathname} is not a LangGraph API route`, "unknown-route");
  if (match.route.unsupported) return deny("ROUTE_UNSUPPORTED", match.route.unsupported, "unsupported-route");
  ctx.route = match;
  ctx.threadId = match.params["thread"];
  ctx.runId = match.params["run"];

  if (ctx.req.body.length > 0 && ctx.req.method !== "GET") {
    const type = ctx.req.headers["content-type"];
    // Non-JSON bodies are blocked rather than passed uninspected (the LangGraph API takes JSON only).
    if (typeof type === "string" && !JSON_TYPE.test(type)) return deny("UNSUPPORTED_MEDIA_TYPE", "request bodies must be application/json", "invalid-json");
    let parsed: unknown;
    const text = ctx.req.body.toString("utf8");
    try {
      parsed = JSON.parse(text);
    } catch {
      return deny("INVALID_JSON", "request body is not valid JSON", "invalid-json");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return deny("INVALID_JSON", "request body must be a JSON object", "invalid-json");
    ctx.json = parsed as Record<string, unknown>;
    ctx.jsonText = text;
  }

  if (match.route.graph === "path-assistant") ctx.assistantId = match.params["assistant"];
  else if (match.route.graph === "body-assistant") {
    // POST /assistants names the graph itself; runs and crons name an assistant.
    const field = match.route.operation === "assistants:create" ? "graph_id" : "assistant_id";
    const value = ctx.json?.[field];
    if (typeof value !== "string" || value.length === 0 || value.length > 200) return deny("BAD_REQUEST", `${field} is required and must be a string`, "invalid-json");
    if (field === "graph_id") ctx.graph = value;
    else ctx.assistantId = value;
  }
  return CONTINUE;
}
