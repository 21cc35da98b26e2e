import type { Reason } from "./reasons.js";
import { scopedKey, type CompiledPolicy, type CompiledRule } from "./compiled-policy.js";

/** Who is asking, as far as authorization cares. */
export interface Subject {
  readonly issuer: string;
  readonly subject: string;
  readonly groups: readonly string[];
}

/** The outcome of evaluating one request; `reason` names why, never the whole policy. */
export type Decision =
  | {
      readonly allow: true;
      readonly reason: "allowed";
      /** The policy whose limits, masking and approval apply (first by name among the allowing ones). */
      readonly rule: CompiledRule;
      /** Every policy that grants the operation (and the graph, when there is one). */
      readonly rules: readonly CompiledRule[];
      readonly threadsAny: boolean;
      readonly storeShared: boolean;
      readonly roles: readonly string[];
    }
  | { readonly allow: false; readonly reason: Reason; readonly roles: readonly string[] };

/** Roles granted to a subject by identity bindings and by group bindings of its issuer. */
export function rolesOf(policy: CompiledPolicy, who: Subject): string[] {
  const roles = new Set(policy.bindings.roles("subject", who.issuer, who.subject));
  for (const g of who.groups) {
    const byGroup = policy.bindings.roles("group", who.issuer, g);
    if (byGroup) for (const r of byGroup) roles.add(r);
  }
  return [...roles];
}

/**
 * Deny-by-default evaluation: suspended → role → policy on the connection → operation →
 * graph (when the request targets one). `meta:info` is allowed to anyone holding any
 * policy on the connection.
 */
export function evaluate(
  policy: CompiledPolicy,
  who: Subject,
  connectionId: string,
  operation: string,
  graph: string | undefined,
): Decision {
  if (policy.suspended.has(scopedKey(who.issuer, who.subject))) return { allow: false, reason: "identity-suspended", roles: [] };
  const roles = rolesOf(policy, who);
  if (roles.length === 0) return { allow: false, reason: "no-role", roles };
  const onConnection: CompiledRule[] = [];
  for (const role of roles) {
    const rules = policy.rulesByRoleConnection.get(scopedKey(role, connectionId));
    if (rules) onConnection.push(...rules);
  }
  if (onConnection.length === 0) return { allow: false, reason: "no-policy-for-connection", roles };
  const forOperation = operation === "meta:info" ? onConnection : onConnection.filter((r) => r.operations.matches(operation));
  if (forOperation.length === 0) return { allow: false, reason: "operation-not-allowed", roles };
  const granting = graph === undefined ? forOperation : forOperation.filter((r) => r.graphs.matches(graph));
  if (granting.length === 0) return { allow: false, reason: "graph-not-allowed", roles };
  granting.sort((a, b) => a.name.localeCompare(b.name));
  return {
    allow: true,
    reason: "allowed",
    rule: granting[0]!,
    rules: granting,
    threadsAny: granting.some((r) => r.threadsAny),
    storeShared: granting.some((r) => r.storeShared),
    roles,
  };
}

/** Whether any of the granting policies allows a graph (filters search results). */
export function graphVisible(rules: readonly CompiledRule[], graph: string): boolean {
  return rules.some((r) => r.graphs.matches(graph));
}
