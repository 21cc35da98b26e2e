import { createHash } from "node:crypto";
import { sideCall } from "../upstream/side-calls.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

/** The thread metadata key that holds the owner tag. Clients cannot set or change it. */
export const OWNER_KEY = "agentgate_owner";

const CREATES_THREAD_ON_RUN = new Set(["runs:create", "runs:stream", "runs:wait", "crons:create"]);

/** Opaque, stable tag for an identity (no issuer or subject leaks into thread metadata). */
export function ownerTagOf(issuer: string, subject: string): string {
  return createHash("sha256").update(issuer).update("\u0000").update(subject).digest("hex").slice(0, 32);
}

/**
 * Threads are owned (DESIGN.md §4): a thread-scoped request on another identity's thread
 * answers 404 unless a policy grants `threads:read:any`. A run that asks to create its
 * thread (`if_not_exists: "create"`) gets the thread created here first, tagged with the
 * caller, so the upstream never makes an untagged one. Must run after authorize.
 */
export async function checkThreadOwnership(ctx: RequestContext): Promise<Outcome> {
  const who = ctx.identity!;
  ctx.ownerTag = ownerTagOf(who.issuer, who.subject);
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
  if (owner !== ctx.ownerTag && !ctx.decision!.threadsAny) return deny("NOT_FOUND", `thread ${threadId} not found`, "thread-not-owned");
  if (ctx.route!.route.operation === "threads:delete") ctx.services.threadOwners.delete(key);
  ctx.threadOwner = owner;
  return CONTINUE;
}

/** The owner tag in a thread object's metadata ("" for untagged threads). */
export function ownerIn(thread: unknown): string {
  const metadata = (thread as { metadata?: Record<string, unknown> } | undefined)?.metadata;
  const tag = metadata?.[OWNER_KEY];
  return typeof tag === "string" ? tag : "";
}
