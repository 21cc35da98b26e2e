/**
 * Who really decides an approval request. An API token acts for whoever minted it, and a
 * token minted by a token for the first one's minter, and so on: the decision is checked
 * against that root identity — its roles for the policy's approverRoles, its (issuer,
 * subject) against the requester — so nobody approves their own request with a token they
 * minted for the purpose. The bootstrap token and the bootstrap file are no identity and
 * hold no role: they cannot decide.
 */
import { rootActor } from "../auth/minter-chain.js";
import { parseOidcActor, type Principal } from "../auth/principal.js";
import { jsonStrings } from "../admin/json.js";
import type { Tx } from "../store/client.js";

/** The identity behind a decision and the roles it holds (empty: none, or no identity). */
export interface Decider {
  readonly identity: { readonly issuer: string; readonly subject: string } | null;
  readonly roles: ReadonlySet<string>;
}

/**
 * Roles bound to an identity, directly or through `groups` (its token's, or for a token's
 * minter the groups recorded when it minted). A suspended identity holds none.
 */
async function rolesOf(tx: Tx, issuer: string, subject: string, groups: readonly string[] | null): Promise<Set<string>> {
  const identity = await tx.identity.findUnique({ where: { issuer_subject: { issuer, subject } } });
  if (identity?.status === "suspended") return new Set();
  const memberOf = groups ?? (identity ? jsonStrings(identity.groups) : []);
  const bindings = await tx.roleBinding.findMany({
    where: { OR: [...(identity ? [{ identityId: identity.id }] : []), ...(memberOf.length > 0 ? [{ issuer, group: { in: [...memberOf] } }] : [])] },
    include: { role: { select: { name: true } } },
  });
  return new Set(bindings.map((b) => b.role.name));
}

/** Resolves the identity and roles a decision by `by` stands for. */
export async function resolveDecider(tx: Tx, by: Principal): Promise<Decider> {
  if (by.identity) {
    const { issuer, subject, groups } = by.identity;
    return { identity: { issuer, subject }, roles: await rolesOf(tx, issuer, subject, groups) };
  }
  const root = parseOidcActor(await rootActor(tx, by.actor));
  if (!root) return { identity: null, roles: new Set() };
  return { identity: root, roles: await rolesOf(tx, root.issuer, root.subject, null) };
}
