import type { CompiledDenyRule } from "../policy/compiled-policy.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

const MAX_VISITED_STRINGS = 100_000;
/**
 * Characters the denylist may scan between two yields to the event loop. Patterns are RE2
 * (linear time), so one unit of work — one pattern over one string, at most the body limit —
 * is bounded; yielding between units keeps a large body with many rules from holding the
 * loop (issue #11: ≤ ~50 ms of pattern work per turn). Small bodies never yield.
 */
export const DENYLIST_SLICE_CHARS = 128 * 1024;

/**
 * Each string under a value (keys included), depth-first; past MAX_VISITED_STRINGS values it
 * yields null once and stops: a body too big to inspect counts as a hit (fail closed).
 */
function* stringsOf(value: unknown): Generator<string | null> {
  let visited = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (++visited > MAX_VISITED_STRINGS) return yield null;
      yield v;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === "object") {
      for (const [k, item] of Object.entries(v)) {
        yield k;
        stack.push(item);
      }
    }
  }
}

function at(body: Record<string, unknown>, path: string): unknown {
  let v: unknown = body;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** The first denylist rule any string of the body matches; yields to the loop every DENYLIST_SLICE_CHARS scanned. */
export async function firstDenied(body: Record<string, unknown>, rules: readonly CompiledDenyRule[]): Promise<CompiledDenyRule | undefined> {
  let sinceYield = 0;
  for (const rule of rules) {
    const scope = rule.path ? at(body, rule.path) : body;
    if (scope === undefined) continue;
    for (const s of stringsOf(scope)) {
      if (sinceYield >= DENYLIST_SLICE_CHARS) {
        await new Promise(setImmediate);
        sinceYield = 0;
      }
      if (s === null) return rule;
      sinceYield += s.length;
      if (rule.pattern.test(s)) return rule;
    }
  }
  return undefined;
}

/**
 * Applies the policy's input checks before anything is forwarded: body size, LangGraph's
 * recursion_limit ceiling, and the denylist (on the raw input, before masking).
 */
export function inspectRequest(ctx: RequestContext): Outcome | Promise<Outcome> {
  const limits = ctx.decision!.rule.limits;
  const maxBody = Number(limits?.maxBodyBytes ?? 0n);
  if (maxBody > 0 && ctx.req.body.length > maxBody) return deny("BODY_TOO_LARGE", `request body exceeds ${maxBody} bytes`, "body-too-large");
  const body = ctx.json;
  if (!body) return CONTINUE;
  // A run's webhook makes the LangGraph server POST to any URL the caller names (SSRF, and
  // run output leaving through a path the gateway does not see): refused.
  if (body["webhook"] !== undefined && body["webhook"] !== null) return deny("INPUT_DENIED", "webhooks are not allowed through the gateway", "denylisted-input");
  const maxRecursion = limits?.maxRecursionLimit ?? 0;
  const recursion = (body["config"] as { recursion_limit?: unknown } | undefined)?.recursion_limit;
  if (maxRecursion > 0 && recursion !== undefined && (typeof recursion !== "number" || recursion > maxRecursion)) {
    return deny("INPUT_DENIED", `config.recursion_limit must be a number ≤ ${maxRecursion}`, "recursion-limit-exceeded");
  }
  const denylist = ctx.decision!.rule.denylist;
  // Synchronous without a denylist (no promise, no microtask: issue #14).
  if (denylist.length === 0) return CONTINUE;
  return firstDenied(body, denylist).then((hit) => (hit ? deny("INPUT_DENIED", hit.message || `input matches denylist rule ${hit.id}`, "denylisted-input") : CONTINUE));
}
