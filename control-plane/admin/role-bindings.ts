/**
 * Role bindings: a role granted to a group of one issuer, or to one identity. Binding a
 * reserved control-plane role is how people become admins, approvers or auditors, so the
 * caller must hold the scopes it grants. Policy-affecting: bindings travel in the snapshot.
 */
import type { Principal } from "../auth/principal.js";
import { CpError, assertNoProblems, orNotFound } from "../errors.js";
import type { Db, Tx } from "../store/client.js";
import type { Identity, Role, RoleBinding } from "../store/types.js";
import { urlProblems } from "../validation.js";
import { commitChange, type Change, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { identityRefProblems, resolveIdentity, type IdentityRef } from "./identities.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";
import { assertMayChangeReservedRole } from "./roles.js";
import { textProblems } from "./text.js";

/** A binding as the API shows it: exactly one of `group` (with its issuer) or `identity` is set. */
export interface RoleBindingView {
  readonly id: string;
  readonly role: { readonly id: string; readonly name: string };
  readonly issuer: string | null;
  readonly group: string | null;
  readonly identity: { readonly id: string; readonly issuer: string; readonly subject: string } | null;
  readonly createdAt: Date;
}

/** Filters of {@link listRoleBindings}. */
export interface RoleBindingFilter {
  readonly roleId?: string | undefined;
  readonly identityId?: string | undefined;
}

type BindingRow = RoleBinding & { role: Role; identity: Identity | null };
const INCLUDE = { role: true, identity: true } as const;

function view(row: BindingRow): RoleBindingView {
  return {
    id: row.id,
    role: { id: row.role.id, name: row.role.name },
    issuer: row.identity ? row.identity.issuer : row.issuer,
    group: row.group,
    identity: row.identity && { id: row.identity.id, issuer: row.identity.issuer, subject: row.identity.subject },
    createdAt: row.createdAt,
  };
}

/** Lists bindings, oldest first. */
export async function listRoleBindings(db: Db, filter: RoleBindingFilter, page: PageRequest): Promise<Page<RoleBindingView>> {
  const { idAfter, orderBy, take } = pageArgs(page);
  const where = { AND: [idAfter, filter.roleId ? { roleId: filter.roleId } : {}, filter.identityId ? { identityId: filter.identityId } : {}] };
  return toPage(await db.roleBinding.findMany({ where, orderBy, take, include: INCLUDE }), page, view);
}

/** The role named `name`, after checking the caller may grant what it grants. */
async function grantableRole(tx: Tx, by: Principal, name: string): Promise<Role> {
  const role = orNotFound(await tx.role.findUnique({ where: { name } }), `role ${JSON.stringify(name)}`);
  assertMayChangeReservedRole(by, role.name);
  return role;
}

async function create(tx: Tx, data: { roleId: string; issuer?: string; group?: string; identityId?: string }): Promise<Change<RoleBindingView>> {
  const row = await tx.roleBinding.create({ data, include: INCLUDE });
  return { value: view(row), audit: [{ action: "roleBinding.create", target: `RoleBinding:${row.id}`, after: view(row) }] };
}

/** Longest issuer URL or subject a binding may name (OIDC subjects are at most 255 ASCII characters). */
const MAX_ISSUER_LENGTH = 2048;
const MAX_SUBJECT_LENGTH = 255;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Problems of a binding's issuer: an http(s) URL, bounded, with no control characters (the URL parser would drop tabs and newlines). */
function issuerProblems(issuer: string): string[] {
  if (typeof issuer === "string" && (issuer.length > MAX_ISSUER_LENGTH || CONTROL.test(issuer))) return [`binding issuer: must be at most ${MAX_ISSUER_LENGTH} characters with no control characters`];
  return urlProblems("binding issuer", issuer);
}

/**
 * Problems of what a binding names, for every write path (GraphQL, a policy file binding by
 * binding or in bulk): a group of an issuer, or an identity by id or by issuer and subject.
 */
export function bindingTargetProblems(target: { group: string } & { issuer: string } | { identity: IdentityRef }): string[] {
  if ("identity" in target) {
    const ref = target.identity;
    const refProblems = identityRefProblems(ref);
    if (refProblems.length > 0 || ref.id) return refProblems;
    const problems = issuerProblems(ref.issuer!);
    if (ref.subject!.length > MAX_SUBJECT_LENGTH || CONTROL.test(ref.subject!)) problems.push(`binding subject: must be at most ${MAX_SUBJECT_LENGTH} characters with no control characters`);
    return problems;
  }
  const problems = [...issuerProblems(target.issuer), ...textProblems("binding group", target.group, 256)];
  if (target.group.trim() === "") problems.push("binding group: must not be empty");
  return problems;
}

/** Grants role `role` to group `group` of issuer `issuer`. */
export async function bindRoleToGroup(deps: AdminDeps, by: Principal, input: { role: string; issuer: string; group: string }): Promise<Committed<RoleBindingView>> {
  assertNoProblems(bindingTargetProblems(input));
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const role = await grantableRole(tx, by, input.role);
    const duplicate = await tx.roleBinding.findFirst({ where: { roleId: role.id, issuer: input.issuer, group: input.group } });
    if (duplicate) throw new CpError("CONFLICT", `role ${role.name} is already bound to that group`);
    return create(tx, { roleId: role.id, issuer: input.issuer, group: input.group });
  });
}

/** Grants role `role` to one identity (created if it has not signed in yet). */
export async function bindRoleToIdentity(deps: AdminDeps, by: Principal, input: { role: string; identity: IdentityRef }): Promise<Committed<RoleBindingView>> {
  assertNoProblems(bindingTargetProblems(input));
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const role = await grantableRole(tx, by, input.role);
    const identity = await resolveIdentity(tx, input.identity, true);
    const duplicate = await tx.roleBinding.findFirst({ where: { roleId: role.id, identityId: identity.id } });
    if (duplicate) throw new CpError("CONFLICT", `role ${role.name} is already bound to that identity`);
    return create(tx, { roleId: role.id, identityId: identity.id });
  });
}

/** Removes a binding (of a reserved role: only by a caller holding every scope it grants). */
export async function deleteRoleBinding(deps: AdminDeps, by: Principal, id: string): Promise<Committed<string>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.roleBinding.findUnique({ where: { id }, include: INCLUDE }), "role binding");
    assertMayChangeReservedRole(by, row.role.name);
    await tx.roleBinding.delete({ where: { id } });
    return { value: id, audit: [{ action: "roleBinding.delete", target: `RoleBinding:${id}`, before: view(row) }] };
  });
}
