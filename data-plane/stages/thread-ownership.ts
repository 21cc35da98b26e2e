import { sideCall } from "../upstream/side-calls.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

import { OWNER_KEY, ownerIn, ownerTagsFor } from "../langgraph/owner-tag.js";

const CREATES_THREAD_ON_RUN = new Set(["runs:create", "runs:stream", "runs:wait", "crons:create"]);


/**
 * Threads are owned (DESIGN.md §4): a thread-scoped request on another identity's thread
 * answers 404 unless a policy grants `threads:read:any`. A run that asks to create its
 * thread (`if_not_exists: "create"`) gets the thread created here first, tagged with the
 * caller, so the upstream never makes an untagged one. Must run after authorize.
 */
export async function checkThreadOwnership(ctx: RequestContext): Promise<Outcome> {
  const who = ctx.identity!;
  const tags = ownerTagsFor(ctx.state.policy, who.issuer, who.subject);
  if (!tags) return deny("INTERNAL", "the policy snapshot carries no owner-tag key");
  ctx.owner = tags;
  ctx.ownerTag = tags.current;
  const threadId = ctx.threadId;
  if (threadId === undefined) return CONTINUE;
  const conn = ctx.connection!;
  const key = `${conn.id}\u0000${threadId}`;
  let owner = ctx.services.threadOwners.get(key);
  if (owner === undefined) {
    const res = await sideCall(ctx.services.pools, conn, "GET", `/threads/${encodeURIComponent(threadId)}`);
    if (res.status === 404) {
      const operation = ctx.route!.route.operation;
      if (CREATES_THREAD_ON_RUN.has(operation) && ctx.json?.["if_not_exists"] === "create") {
        const created = await sideCall(ctx.services.pools, conn, "POST", "/threads", {
          thread_id: threadId,
          metadata: { [OWNER_KEY]: ctx.ownerTag },
          if_exists: "do_nothing",
        });
        owner = ownerIn(created.json);
      } else {
        return CONTINUE; // the upstream answers 404 itself
      }
    } else if (res.status >= 200 && res.status < 300) {
      owner = ownerIn(res.json);
    } else {
      return deny("UPSTREAM_UNAVAILABLE", `upstream answered ${res.status} while checking the thread`);
    }
    if (owner !== undefined) ctx.services.threadOwners.set(key, owner);
  }
  if (!tags.owns(owner) && !ctx.decision!.threadsAny) return deny("NOT_FOUND", `thread ${threadId} not found`, "thread-not-owned");
  if (ctx.route!.route.operation === "threads:delete") ctx.services.threadOwners.delete(key);
  ctx.threadOwner = owner;
  return CONTINUE;
}
