import { sideCall } from "../upstream/side-calls.js";
import type { CompiledPolicy } from "../policy/compiled-policy.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, type Outcome } from "../pipeline/outcome.js";
import { OWNER_KEY, OWNER_TAG_PURPOSE, ownerTagsFor } from "../langgraph/owner-tag.js";

const PAGE = 100;
const MAX_PAGES_PER_KEY = 20;
// Callers already brought up to date under a snapshot (a new snapshot starts over).
const done = new WeakMap<CompiledPolicy, Set<string>>();

/**
 * After an owner-tag key rotation, a thread search narrowed to the caller's newest tag would
 * miss threads tagged under an older key (they stay reachable by id: `owns` accepts every
 * kept generation). Before the caller's first search under a snapshot with older keys, the
 * gateway finds its threads under each older tag and re-tags them with the newest (bounded:
 * MAX_PAGES_PER_KEY pages per key per snapshot). Must run after check-resources.
 */
export function retagThreadsAfterRotation(ctx: RequestContext): Outcome | Promise<Outcome> {
  if (ctx.route!.route.operation !== "threads:search" || ctx.decision!.threadsAny) return CONTINUE;
  const policy = ctx.state.policy;
  const keys = policy.gatewayKeys.get(OWNER_TAG_PURPOSE) ?? [];
  if (keys.length < 2) return CONTINUE;
  const seen = done.get(policy) ?? new Set<string>();
  done.set(policy, seen);
  const who = `${ctx.connection!.id}\u0000${ctx.ownerTag!}`;
  if (seen.has(who)) return CONTINUE;
  return retag(ctx, keys, seen, who);
}

async function retag(ctx: RequestContext, keys: NonNullable<ReturnType<CompiledPolicy["gatewayKeys"]["get"]>>, seen: Set<string>, who: string): Promise<Outcome> {
  const policy = ctx.state.policy;
  for (const key of keys.slice(1)) {
    const older = ownerTagsFor({ ...policy, gatewayKeys: new Map([[OWNER_TAG_PURPOSE, [key]]]) }, ctx.identity!.issuer, ctx.identity!.subject)!.current;
    for (let page = 0; page < MAX_PAGES_PER_KEY; page++) {
      // Always offset 0: re-tagged threads leave the result.
      const found = await sideCall(ctx.services.pools, ctx.connection!, "POST", "/threads/search", { metadata: { [OWNER_KEY]: older }, limit: PAGE, select: ["thread_id"] });
      const ids = Array.isArray(found.json) ? (found.json as Array<{ thread_id?: unknown }>).map((t) => t.thread_id).filter((id): id is string => typeof id === "string") : [];
      for (const id of ids) await sideCall(ctx.services.pools, ctx.connection!, "PATCH", `/threads/${encodeURIComponent(id)}`, { metadata: { [OWNER_KEY]: ctx.ownerTag } });
      if (ids.length < PAGE) break;
    }
  }
  seen.add(who);
  return CONTINUE;
}
