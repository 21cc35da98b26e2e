import { sideCall } from "../upstream/side-calls.js";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { resourcesOf, type ResourceRef } from "../../common/langgraph/routes.js";
import { OWNER_KEY, ownerIn, ownerTagsFor } from "../langgraph/owner-tag.js";

/** Operations that only read: `threads:read:any` lets its holders read other identities' threads. */
const READ_OPERATIONS = new Set(["threads:read", "threads:history", "threads:search", "runs:read", "runs:search"]);
/** Runs that may create their path thread (`if_not_exists: "create"`). */
const CREATES_THREAD_ON_RUN = new Set(["runs:create", "runs:stream", "runs:wait", "crons:create"]);
/** Ids the gateway passes to the upstream in a side call path. */
const ID = /^[A-Za-z0-9._~:@-]{1,200}$/;

const notFound = (what: string, id: string): Outcome => deny("NOT_FOUND", `${what} ${id} not found`, "resource-not-owned");
const taken = (what: string): Outcome => deny("CONFLICT", `a ${what} with this id already exists`, "resource-not-owned");
const upstreamFailed = (status: number): Outcome => deny("UPSTREAM_UNAVAILABLE", `upstream answered ${status} while checking ownership`);

function isRead(ctx: RequestContext): boolean {
  return ctx.req.method === "GET" || READ_OPERATIONS.has(ctx.route!.route.operation);
}

/** GET a resource through a side call: its owner tag, or "missing". */
async function ownerOf(ctx: RequestContext, path: string): Promise<{ status: number; owner?: string; json?: unknown }> {
  const res = await sideCall(ctx.services.pools, ctx.connection!, "GET", path);
  if (res.status === 404) return { status: 404 };
  if (res.status < 200 || res.status >= 300) return { status: res.status };
  return { status: 200, owner: ownerIn(res.json), json: res.json };
}

/**
 * A thread named in the path must be the caller's (or readable through `threads:read:any`
 * for read operations). Missing and foreign threads get the same 404. A run that asks to
 * create its thread gets it created here first, tagged with the caller (create-only, so a
 * thread made by someone else in between is never adopted); a foreign id is 409 as on
 * POST /threads.
 */
async function checkPathThread(ctx: RequestContext, threadId: string): Promise<Outcome> {
  const createsThread = CREATES_THREAD_ON_RUN.has(ctx.route!.route.operation) && ctx.json?.["if_not_exists"] === "create";
  for (let attempt = 0; attempt < 2; attempt++) {
    const found = await ownerOf(ctx, `/threads/${encodeURIComponent(threadId)}`);
    if (found.status === 200) {
      if (ctx.owner!.owns(found.owner)) {
        ctx.threadOwner = found.owner;
        return CONTINUE;
      }
      if (ctx.decision!.threadsAny && isRead(ctx)) {
        ctx.threadOwner = found.owner;
        return CONTINUE;
      }
      return createsThread ? taken("thread") : notFound("thread", threadId);
    }
    if (found.status !== 404) return upstreamFailed(found.status);
    if (!createsThread) return notFound("thread", threadId);
    const created = await sideCall(ctx.services.pools, ctx.connection!, "POST", "/threads", {
      thread_id: threadId,
      metadata: { [OWNER_KEY]: ctx.ownerTag },
      if_exists: "raise",
    });
    if (created.status >= 200 && created.status < 300) {
      ctx.threadOwner = ctx.ownerTag;
      return CONTINUE;
    }
    if (created.status !== 409) return created.status === 422 ? deny("BAD_REQUEST", "the thread id is not valid") : upstreamFailed(created.status);
    // Created by someone in between: look again (once).
  }
  return taken("thread");
}

/** A run named in the path must belong to the path's (already checked) thread. */
async function checkPathRun(ctx: RequestContext, runId: string): Promise<Outcome> {
  const threadId = ctx.threadId!;
  const res = await sideCall(ctx.services.pools, ctx.connection!, "GET", `/threads/${encodeURIComponent(threadId)}/runs/${encodeURIComponent(runId)}`);
  if (res.status === 404) return notFound("run", runId);
  if (res.status < 200 || res.status >= 300) return upstreamFailed(res.status);
  const run = res.json as { thread_id?: unknown; run_id?: unknown } | undefined;
  if (run?.thread_id !== threadId || run?.run_id !== runId) return notFound("run", runId);
  return CONTINUE;
}

/** Assistants are shared for reading (by graph policy); changing one takes owning it. */
async function checkPathAssistant(ctx: RequestContext, assistantId: string): Promise<Outcome> {
  if (isRead(ctx) || ctx.route!.route.operation === "assistants:read") return CONTINUE;
  const found = await ownerOf(ctx, `/assistants/${encodeURIComponent(assistantId)}`);
  if (found.status === 200 && ctx.owner!.owns(found.owner)) return CONTINUE;
  if (found.status === 200 || found.status === 404) return notFound("assistant", assistantId);
  return upstreamFailed(found.status);
}

/**
 * A body field choosing the id of a thread or assistant being created (`if_exists` decides
 * what happens to an existing one upstream, including applying `supersteps` to it). An id
 * taken by anyone else is 409 before forwarding; the caller's own id is 409 unless it asked
 * for `do_nothing`; a free id is forwarded with `if_exists: "raise"`, so a creation racing
 * ours makes the upstream refuse instead of handing over (or writing into) the other one.
 */
async function checkNewId(ctx: RequestContext, ref: ResourceRef, what: "thread" | "assistant"): Promise<Outcome> {
  const body = ctx.json;
  const id = body?.[ref.name];
  if (id === undefined || id === null) return CONTINUE;
  if (typeof id !== "string" || !ID.test(id)) return deny("BAD_REQUEST", `${ref.name} must be an id`);
  const found = await ownerOf(ctx, `/${what}s/${encodeURIComponent(id)}`);
  if (found.status === 404) {
    body!["if_exists"] = "raise";
    return CONTINUE;
  }
  if (found.status !== 200) return upstreamFailed(found.status);
  if (ctx.owner!.owns(found.owner) && body!["if_exists"] === "do_nothing") return CONTINUE;
  return taken(what);
}

/** Fields through which a body could point a thread-scoped request at another thread. */
const THREAD_ALIASES: ReadonlyArray<readonly string[]> = [
  ["checkpoint", "thread_id"],
  ["config", "configurable", "thread_id"],
];

function at(body: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = body;
  for (const key of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * THE ownership stage: walks the route's resource table (langgraph/routes.ts) and checks
 * every resource the request names before anything is forwarded. Foreign and missing
 * resources look the same (404 from the gateway, never the upstream's own answer). Must run
 * after authorize; store namespaces are scoped later (store-scope).
 */
export function checkResources(ctx: RequestContext): Outcome | Promise<Outcome> {
  const who = ctx.identity!;
  const tags = ownerTagsFor(ctx.state.policy, who.issuer, who.subject);
  if (!tags) return deny("INTERNAL", "the policy snapshot carries no owner-tag key");
  ctx.owner = tags;
  ctx.ownerTag = tags.current;
  const match = ctx.route!;
  if (ctx.json) {
    for (const alias of THREAD_ALIASES) {
      const v = at(ctx.json, alias);
      if (v !== undefined && v !== ctx.threadId) return deny("INPUT_DENIED", `${alias.join(".")} must be absent or name the thread in the path`, "resource-not-owned");
    }
  }
  const refs = resourcesOf(match.route);
  // Synchronous for routes that name no resource (searches, lists: no promise, issue #14).
  return refs.length === 0 ? CONTINUE : checkEach(ctx, refs);
}

/** Each resource the request names, in the route table's order; the first denial wins. */
async function checkEach(ctx: RequestContext, refs: readonly ResourceRef[]): Promise<Outcome> {
  const match = ctx.route!;
  for (const ref of refs) {
    let outcome: Outcome = CONTINUE;
    if (ref.in === "path") {
      const id = match.params[ref.name]!;
      if (ref.kind === "thread") outcome = await checkPathThread(ctx, id);
      else if (ref.kind === "run") outcome = await checkPathRun(ctx, id);
      else outcome = await checkPathAssistant(ctx, id);
    } else if (ref.in === "body" && ref.kind === "thread") {
      const id = ctx.json?.[ref.name];
      if (id === undefined || id === null) continue;
      if (typeof id !== "string" || !ID.test(id)) return deny("BAD_REQUEST", `${ref.name} must be an id`);
      if (ctx.threadId !== undefined && id !== ctx.threadId) return deny("INPUT_DENIED", `${ref.name} must name the thread in the path`, "resource-not-owned");
      if (ctx.threadId === undefined) outcome = await checkPathThread(ctx, id);
    } else if (ref.in === "new-id") {
      outcome = await checkNewId(ctx, ref, ref.kind);
    }
    if (outcome.kind === "deny") return outcome;
  }
  return CONTINUE;
}
