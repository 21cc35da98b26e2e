/**
 * Who may call which root field, as DATA: one table, enforced for every Query and Mutation
 * field by one wrapper (module.ts), and iterated whole by the authorization matrix test
 * (every root field × every kind of principal). Deny by default: a root field without a
 * row is refused for everybody, so a new field cannot ship open by omission.
 */
import type { Principal } from "../auth/principal.js";
import type { Scope } from "../auth/scopes.js";
import { CpError, toGraphQLError } from "../errors.js";
import type { GraphqlContext } from "./context.js";

/** `public`: no credential needed; `authenticated`: any valid credential; else any one of the scopes. */
export type Access = "public" | "authenticated" | { readonly anyOf: readonly Scope[] };

const read: Access = { anyOf: ["read"] };
const write: Access = { anyOf: ["write"] };
const audit: Access = { anyOf: ["audit"] };
const approve: Access = { anyOf: ["approve"] };
// Approvers work the queue; auditors review it.
const approveOrAudit: Access = { anyOf: ["approve", "audit"] };

/** `<Query|Mutation>.<field>` → who may call it. */
export const ROOT_FIELD_ACCESS: Readonly<Record<string, Access>> = Object.freeze({
  "Query.health": "public",
  "Query.viewer": "authenticated",
  "Query.identities": read,
  "Query.identity": read,
  "Query.identityProviders": read,
  "Query.identityProvider": read,
  "Query.roles": read,
  "Query.role": read,
  "Query.roleBindings": read,
  "Query.connections": read,
  "Query.connection": read,
  "Query.maskingProfiles": read,
  "Query.maskingProfile": read,
  "Query.policies": read,
  "Query.policy": read,
  "Query.proxies": read,
  "Query.snapshot": read,
  "Query.apiTokens": read,
  "Query.adminAudit": audit,
  "Query.sessions": audit,
  "Query.session": audit,
  "Query.identityAggregates": audit,
  "Query.graphTimeline": audit,
  "Query.anomalies": audit,
  "Query.verifySessionChains": audit,
  "Query.approvalRequests": approveOrAudit,
  "Query.approvalRequest": approveOrAudit,
  "Mutation.createIdentityProvider": write,
  "Mutation.updateIdentityProvider": write,
  "Mutation.deleteIdentityProvider": write,
  "Mutation.suspendIdentity": write,
  "Mutation.reactivateIdentity": write,
  "Mutation.createRole": write,
  "Mutation.updateRole": write,
  "Mutation.deleteRole": write,
  "Mutation.bindRoleToGroup": write,
  "Mutation.bindRoleToIdentity": write,
  "Mutation.deleteRoleBinding": write,
  "Mutation.createConnection": write,
  "Mutation.updateConnection": write,
  "Mutation.deleteConnection": write,
  "Mutation.createMaskingProfile": write,
  "Mutation.updateMaskingProfile": write,
  "Mutation.deleteMaskingProfile": write,
  "Mutation.createPolicy": write,
  "Mutation.updatePolicy": write,
  "Mutation.deletePolicy": write,
  "Mutation.applyPolicyFile": write,
  "Mutation.createApiToken": write,
  "Mutation.revokeApiToken": write,
  "Mutation.rotateGatewayKeys": write,
  "Mutation.approveRequest": approve,
  "Mutation.denyRequest": approve,
});

/**
 * Fields below the root that need more than the root field that reached them: `Role.bindings`
 * is reachable from the WRITE mutations' payloads but shows READ data. Enforced by the same
 * wrapper; a nested field without a row inherits its root field's rule.
 */
export const NESTED_FIELD_ACCESS: Readonly<Record<string, Access>> = Object.freeze({
  "Role.bindings": read,
});

/** True when `by` (null: no valid credential) may call a field with `access`. */
export function allows(access: Access | undefined, by: Principal | null): boolean {
  if (access === undefined) return false;
  if (access === "public") return true;
  if (by === null) return false;
  return access === "authenticated" || access.anyOf.some((s) => by.scopes.has(s));
}

/** The error for a caller `allows` refused (UNAUTHENTICATED without a credential). */
async function refusal(ctx: GraphqlContext, access: Access | undefined, field: string): Promise<CpError> {
  const auth = await ctx.auth();
  if (!auth.ok) return new CpError(auth.code, auth.message);
  if (access === undefined || access === "public" || access === "authenticated") return new CpError("FORBIDDEN", `${field} has no access rule`);
  return new CpError("FORBIDDEN", `this operation requires the ${access.anyOf.join(" or ")} scope`);
}

type RootResolver = (parent: unknown, args: unknown, ctx: GraphqlContext, info: unknown) => unknown;
type ResolverMap = Record<string, Record<string, unknown>>;

/** `resolve` behind the check of `access` (the table's row for `key`). */
function checked(key: string, access: Access | undefined, resolve: RootResolver): RootResolver {
  if (access === "public") return resolve;
  return async (parent, args, ctx, info) => {
    const auth = await ctx.auth();
    if (!allows(access, auth.ok ? auth.principal : null)) throw toGraphQLError(await refusal(ctx, access, key));
    return resolve(parent, args, ctx, info);
  };
}

/**
 * Wraps every Query and Mutation resolver of `maps` (and every nested field with a row in
 * `nested`) with the table's check. This is the ONLY authorization of a field: resolvers
 * have no scope checks of their own (guard.ts), so the table is one place per rule.
 */
export function enforceAccessTable<T extends ResolverMap>(
  maps: readonly T[],
  table: Readonly<Record<string, Access>> = ROOT_FIELD_ACCESS,
  nested: Readonly<Record<string, Access>> = NESTED_FIELD_ACCESS,
): T[] {
  return maps.map((map) => {
    const out: ResolverMap = { ...map };
    for (const [type, fields] of Object.entries(map)) {
      const root = type === "Query" || type === "Mutation";
      if (!root && !Object.keys(fields).some((name) => `${type}.${name}` in nested)) continue;
      out[type] = Object.fromEntries(
        Object.entries(fields).map(([name, resolve]) => {
          const key = `${type}.${name}`;
          if (!root && !(key in nested)) return [name, resolve];
          return [name, checked(key, root ? table[key] : nested[key], resolve as RootResolver)];
        }),
      );
    }
    return out as T;
  });
}
