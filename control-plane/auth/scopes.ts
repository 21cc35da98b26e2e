/**
 * What an admin may do, as a small closed set of scopes, and which reserved control-plane
 * role grants which. API tokens carry scopes directly; OIDC users get them through
 * ordinary role bindings to the reserved role names.
 */

/** Every scope, in one list: the union below is derived from it, validation iterates it. */
export const SCOPES = ["read", "write", "audit", "approve"] as const;

/**
 * - `read`: see the configuration (identities, providers, roles, connections, masking
 *   profiles, policies, proxies, API tokens without secrets).
 * - `write`: change it (every mutation except approval decisions).
 * - `audit`: read the admin audit log and recorded sessions.
 * - `approve`: decide approval requests.
 */
export type Scope = (typeof SCOPES)[number];

/** The reserved role names and the scopes each grants (DESIGN.md §8). */
export const CONTROL_PLANE_ROLES: Readonly<Record<string, readonly Scope[]>> = Object.freeze({
  "cp-admin": SCOPES,
  "cp-approver": ["approve"],
  // Auditors read everything but change nothing.
  "cp-auditor": ["read", "audit"],
});

/** True for a reserved control-plane role name (cp-admin, cp-approver, cp-auditor). */
export function isControlPlaneRole(name: string): boolean {
  return Object.hasOwn(CONTROL_PLANE_ROLES, name);
}

/** The union of the scopes granted by some role names (non-reserved names grant nothing). */
export function scopesOfRoles(roles: Iterable<string>): Set<Scope> {
  const scopes = new Set<Scope>();
  for (const role of roles) for (const s of CONTROL_PLANE_ROLES[role] ?? []) scopes.add(s);
  return scopes;
}

/** True when `value` names a scope. */
export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
