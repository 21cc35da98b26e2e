import { getIdentity, listIdentities, setIdentityStatus, type IdentityFilter, type IdentityRef } from "../../admin/identities.js";
import { withCaller } from "../guard.js";
import { payload } from "../map.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

/** Identities: list/read (READ), suspend/reactivate (WRITE; policy-affecting). */
export const identityResolvers = {
  IdentityStatus: { ACTIVE: "active", SUSPENDED: "suspended" },
  Query: {
    identities: withCaller(async (args: ConnectionArgs & { filter?: IdentityFilter | null }, _by, ctx) =>
      toConnection(await listIdentities(ctx.admin.db, args.filter ?? {}, pageRequest(args))),
    ),
    identity: withCaller((args: { id: string }, _by, ctx) => getIdentity(ctx.admin.db, args.id)),
  },
  Mutation: {
    suspendIdentity: withCaller(async (args: { identity: IdentityRef }, by, ctx) =>
      payload("identity", await setIdentityStatus(ctx.admin, by, args.identity, "suspended")),
    ),
    reactivateIdentity: withCaller(async (args: { identity: IdentityRef }, by, ctx) =>
      payload("identity", await setIdentityStatus(ctx.admin, by, args.identity, "active")),
    ),
  },
};
