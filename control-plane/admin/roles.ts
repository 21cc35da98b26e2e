/**
 * Roles: names that policies are written for and that bindings grant. The reserved names
 * cp-admin, cp-approver and cp-auditor grant control-plane scopes (auth/scopes.ts).
 * Policy-affecting: roles and their bindings travel in the snapshot.
 */
import { assertMayGrant } from "../auth/grant.js";
import type { Principal } from "../auth/principal.js";
import { CONTROL_PLANE_ROLES, isControlPlaneRole } from "../auth/scopes.js";
import { CpError, assertNoProblems, orNotFound } from "../errors.js";
import type { Db, Tx } from "../store/client.js";
import type { Role } from "../store/types.js";
import { nameProblems } from "../validation.js";
import { commitChange, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { assertNotUsedByPolicies, assertUnique } from "./guards.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";
import { applyPatch, sameState, type Patch } from "./patch.js";
import { textProblems } from "./text.js";

/** The configurable fields of a role. */
export interface RoleFields {
  readonly name: string;
  readonly description: string | null;
}

/** A role as the API shows it. */
export interface RoleView extends RoleFields {
  readonly id: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const DEFAULTS: RoleFields = { name: "", description: null };

function view(row: Role): RoleView {
  return { id: row.id, name: row.name, description: row.description, createdAt: row.createdAt, updatedAt: row.updatedAt };
}

function problems(f: RoleFields): string[] {
  return [...nameProblems("role", f.name), ...textProblems("role description", f.description)];
}

/**
 * A reserved role (cp-admin, cp-approver, cp-auditor) may be created, renamed to or from,
 * re-described, bound or unbound only by a caller holding every scope it grants.
 */
export function assertMayChangeReservedRole(by: Principal, name: string): void {
  const scopes = CONTROL_PLANE_ROLES[name];
  if (scopes) assertMayGrant(by, scopes, `changing reserved role ${name}`);
}

async function assertNameFree(tx: Tx, name: string, exceptId?: string): Promise<void> {
  assertUnique(await tx.role.findUnique({ where: { name } }), exceptId, `a role named ${JSON.stringify(name)}`);
}

/** Lists roles, oldest first. */
export async function listRoles(db: Db, page: PageRequest): Promise<Page<RoleView>> {
  const { idAfter, orderBy, take } = pageArgs(page);
  return toPage(await db.role.findMany({ where: idAfter, orderBy, take }), page, view);
}

/** One role by id or by name, or null. */
export async function getRole(db: Db, by: { id?: string | null; name?: string | null }): Promise<RoleView | null> {
  if (by.id) return db.role.findUnique({ where: { id: by.id } }).then((r) => r && view(r));
  if (by.name) return db.role.findUnique({ where: { name: by.name } }).then((r) => r && view(r));
  return null;
}

/** Creates a role (without bindings). */
export async function createRole(deps: AdminDeps, by: Principal, input: Patch<RoleFields>): Promise<Committed<RoleView>> {
  const fields = applyPatch(DEFAULTS, input, DEFAULTS);
  assertNoProblems(problems(fields));
  assertMayChangeReservedRole(by, fields.name);
  return commitChange(deps, by.actor, "policy", async (tx) => {
    await assertNameFree(tx, fields.name);
    const row = await tx.role.create({ data: fields });
    return { value: view(row), audit: [{ action: "role.create", target: `Role:${row.id}`, after: view(row) }] };
  });
}

/**
 * Renames or re-describes a role. Policies and bindings follow (they point at the id);
 * approval rules name approver roles by name and do not.
 */
export async function updateRole(deps: AdminDeps, by: Principal, id: string, patch: Patch<RoleFields>): Promise<Committed<RoleView>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.role.findUnique({ where: { id } }), "role");
    const current: RoleFields = { name: row.name, description: row.description };
    const fields = applyPatch<RoleFields>(current, patch, DEFAULTS);
    assertNoProblems(problems(fields));
    if (sameState(current, fields)) return { value: view(row), audit: [] };
    assertMayChangeReservedRole(by, row.name);
    if (fields.name !== row.name) {
      assertMayChangeReservedRole(by, fields.name);
      await assertNameFree(tx, fields.name, id);
    }
    const updated = await tx.role.update({ where: { id }, data: { name: fields.name, description: fields.description } });
    return { value: view(updated), audit: [{ action: "role.update", target: `Role:${id}`, before: view(row), after: view(updated) }] };
  });
}

/** Deletes a role and its bindings; refused while a policy is written for it, and always for a reserved role. */
export async function deleteRole(deps: AdminDeps, by: Principal, id: string): Promise<Committed<string>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.role.findUnique({ where: { id }, include: { policies: { select: { name: true } }, _count: { select: { bindings: true } } } }), "role");
    if (isControlPlaneRole(row.name)) throw new CpError("FORBIDDEN", `role ${row.name} is reserved and cannot be deleted`);
    assertNotUsedByPolicies(`role ${row.name}`, row.policies);
    await tx.role.delete({ where: { id } });
    return { value: id, audit: [{ action: "role.delete", target: `Role:${id}`, before: { ...view(row), bindings: row._count.bindings } }] };
  });
}
