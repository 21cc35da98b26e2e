import type { Patch } from "../../admin/patch.js";
import { bindRoleToGroup, bindRoleToIdentity, deleteRoleBinding, listRoleBindings, type RoleBindingFilter } from "../../admin/role-bindings.js";
import { createRole, deleteRole, getRole, listRoles, updateRole, type RoleFields, type RoleView } from "../../admin/roles.js";
import { groupBindingInputSchema, identityBindingInputSchema, parseInput, roleInputSchema, updateSchema } from "../../admin/input-schemas.js";
import { withCaller } from "../guard.js";
import { deleted, payload } from "../map.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

/** Roles and role bindings: CRUD (READ / WRITE; policy-affecting). */
export const roleResolvers = {
  Role: {
    bindings: withCaller(async (args: ConnectionArgs, _by, ctx, role: RoleView) =>
      toConnection(await listRoleBindings(ctx.admin.db, { roleId: role.id }, pageRequest(args))),
    ),
  },
  Query: {
    roles: withCaller(async (args: ConnectionArgs, _by, ctx) => toConnection(await listRoles(ctx.admin.db, pageRequest(args)))),
    role: withCaller((args: { id?: string | null; name?: string | null }, _by, ctx) => getRole(ctx.admin.db, args)),
    roleBindings: withCaller(async (args: ConnectionArgs & { filter?: RoleBindingFilter | null }, _by, ctx) =>
      toConnection(await listRoleBindings(ctx.admin.db, args.filter ?? {}, pageRequest(args))),
    ),
  },
  Mutation: {
    createRole: withCaller(async (args: { input: Patch<RoleFields> }, by, ctx) => payload("role", await createRole(ctx.admin, by, parseInput(roleInputSchema, args.input)))),
    updateRole: withCaller(async (args: { id: string; input: Patch<RoleFields> }, by, ctx) => payload("role", await updateRole(ctx.admin, by, args.id, parseInput(updateSchema(roleInputSchema), args.input)))),
    deleteRole: withCaller(async (args: { id: string }, by, ctx) => deleted(await deleteRole(ctx.admin, by, args.id))),
    bindRoleToGroup: withCaller(async (args: { input: unknown }, by, ctx) =>
      payload("roleBinding", await bindRoleToGroup(ctx.admin, by, parseInput(groupBindingInputSchema, args.input))),
    ),
    bindRoleToIdentity: withCaller(async (args: { input: unknown }, by, ctx) =>
      payload("roleBinding", await bindRoleToIdentity(ctx.admin, by, parseInput(identityBindingInputSchema, args.input))),
    ),
    deleteRoleBinding: withCaller(async (args: { id: string }, by, ctx) => deleted(await deleteRoleBinding(ctx.admin, by, args.id))),
  },
};
