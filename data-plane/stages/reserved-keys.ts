import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

/** Keys the gateway writes (owner tags and whatever it adds later): no client may send one. */
const RESERVED_KEY = /^agentgate_/i;
/** Keys that would pose as the gateway's identity headers inside a run's configuration. */
const GATEWAY_HEADER_KEY = /^x-agentgate-/i;

/** The first reserved key anywhere under a value (depth-first, iterative: nesting is attacker-chosen). */
export function findReservedKey(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) for (const item of v) stack.push(item);
    else if (v !== null && typeof v === "object") {
      for (const [k, item] of Object.entries(v)) {
        if (RESERVED_KEY.test(k)) return k;
        stack.push(item);
      }
    }
  }
  return undefined;
}

/** Deletes `x-agentgate-*` keys (any case) from an object, in place; true when one was found. */
function stripGatewayHeaderKeys(obj: unknown): boolean {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return false;
  let found = false;
  for (const k of Object.keys(obj)) {
    if (GATEWAY_HEADER_KEY.test(k)) {
      delete (obj as Record<string, unknown>)[k];
      found = true;
    }
  }
  return found;
}

/**
 * Client bodies cannot speak for the gateway: a key starting with `agentgate_` anywhere in a
 * body (metadata, filters, config, input...) is refused (422) on every route, so owner tags
 * can be neither set nor probed; `x-agentgate-*` keys are removed from `config.configurable`
 * and `context`, where LangGraph puts the gateway's identity headers for the graph to read.
 */
export function guardReservedKeys(ctx: RequestContext): Outcome {
  const body = ctx.json;
  if (!body) return CONTINUE;
  const reserved = findReservedKey(body);
  if (reserved !== undefined) {
    return deny("INPUT_DENIED", `keys starting with "agentgate_" are reserved for the gateway (found ${JSON.stringify(reserved.slice(0, 64))})`, "reserved-key");
  }
  const config = body["config"];
  if (config !== null && typeof config === "object") stripGatewayHeaderKeys((config as Record<string, unknown>)["configurable"]);
  stripGatewayHeaderKeys(body["context"]);
  return CONTINUE;
}
