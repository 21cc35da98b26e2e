import { createHash } from "node:crypto";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { resourcesOf } from "../../common/langgraph/routes.js";

/** The first namespace label of the namespaces shared by holders of `store:shared`. */
export const SHARED_LABEL = "shared";
const SHARED_SCOPE = "agentgate-shared";
const MAX_LABELS = 32;
const MAX_LABEL_LENGTH = 256;

/**
 * The label every namespace of an identity lives under upstream. It needs no secret: callers
 * never name upstream namespaces, the gateway always puts this label in front of theirs.
 * Stable across gateway key rotations, so stored memory survives them.
 */
export function identityScope(issuer: string, subject: string): string {
  return `agentgate-u-${createHash("sha256").update("agentgate store scope\u0000").update(JSON.stringify([issuer, subject])).digest("hex").slice(0, 32)}`;
}

type Scoped = { ok: true; namespace: string[] } | { ok: false; outcome: Outcome };

/** The upstream namespace for a client's: its scope label in front (empty = the whole scope). */
function scope(ctx: RequestContext, value: unknown, field: string): Scoped {
  if (value === undefined || value === null) value = [];
  if (!Array.isArray(value) || value.length > MAX_LABELS || !value.every((l) => typeof l === "string" && l.length > 0 && l.length <= MAX_LABEL_LENGTH && !l.includes("."))) {
    return { ok: false, outcome: deny("BAD_REQUEST", `${field} must be a list of up to ${MAX_LABELS} non-empty labels without periods`) };
  }
  const labels = value as string[];
  if (labels[0] === SHARED_LABEL) {
    if (!ctx.decision!.storeShared) return { ok: false, outcome: deny("POLICY_DENIED", `not allowed: namespaces under "${SHARED_LABEL}" need store:shared`, "operation-not-allowed") };
    return { ok: true, namespace: [SHARED_SCOPE, ...labels.slice(1)] };
  }
  return { ok: true, namespace: [ctx.storeScope!, ...labels] };
}

/**
 * Store items are per identity (issue #10): every namespace a request names — body field or
 * query parameter, per the route table — is put under the caller's own scope label before
 * forwarding, and taken out of what comes back (store-scope's unscopeStoreResponse).
 * `["shared", ...]` maps to one namespace common to the holders of `store:shared`.
 */
export function scopeStore(ctx: RequestContext): Outcome {
  const refs = resourcesOf(ctx.route!.route).filter((r) => r.kind === "namespace");
  if (refs.length === 0) return CONTINUE;
  ctx.storeScope = identityScope(ctx.identity!.issuer, ctx.identity!.subject);
  for (const ref of refs) {
    if (ref.in === "query") {
      const query = new URLSearchParams(ctx.req.search);
      const given = query.getAll(ref.name);
      if (given.length > 1) return deny("BAD_REQUEST", `${ref.name} must be given once`);
      const scoped = scope(ctx, given[0] === undefined || given[0] === "" ? [] : given[0].split("."), ref.name);
      if (!scoped.ok) return scoped.outcome;
      query.set(ref.name, scoped.namespace.join("."));
      ctx.outboundSearch = `?${query.toString()}`;
    } else {
      const body = (ctx.json ??= {});
      const scoped = scope(ctx, body[ref.name], ref.name);
      if (!scoped.ok) return scoped.outcome;
      body[ref.name] = scoped.namespace;
      // Depth counts from the root: one more label in front.
      if (ref.name === "prefix" && typeof body["max_depth"] === "number") body["max_depth"] = body["max_depth"] + 1;
    }
  }
  return CONTINUE;
}

/** A namespace as the caller knows it, or undefined when it is outside the caller's reach. */
function unscope(ctx: RequestContext, namespace: unknown): string[] | undefined {
  if (!Array.isArray(namespace) || namespace.length === 0) return undefined;
  if (namespace[0] === ctx.storeScope) return namespace.slice(1) as string[];
  if (namespace[0] === SHARED_SCOPE && ctx.decision!.storeShared) return [SHARED_LABEL, ...(namespace.slice(1) as string[])];
  return undefined;
}

/** Takes the scope label out of store answers; anything outside the caller's scope is dropped. */
export function unscopeStoreResponse(ctx: RequestContext, json: unknown): unknown {
  if (ctx.storeScope === undefined || json === null || typeof json !== "object") return json;
  const item = (v: unknown): unknown => {
    const ns = unscope(ctx, (v as { namespace?: unknown } | null)?.namespace);
    return ns === undefined ? undefined : { ...(v as object), namespace: ns };
  };
  const op = ctx.route!.route.operation;
  if (op === "store:get") return item(json) ?? null;
  if (op === "store:search" && Array.isArray((json as { items?: unknown }).items)) {
    return { ...json, items: (json as { items: unknown[] }).items.map(item).filter((v) => v !== undefined) };
  }
  if (op === "store:list_namespaces" && Array.isArray((json as { namespaces?: unknown }).namespaces)) {
    return { ...json, namespaces: (json as { namespaces: unknown[] }).namespaces.map((ns) => unscope(ctx, ns)).filter((v) => v !== undefined) };
  }
  return json;
}
