import {
  createIdentityProvider,
  deleteIdentityProvider,
  getIdentityProvider,
  listIdentityProviders,
  updateIdentityProvider,
  type IdentityProviderFields,
  type IdentityProviderView,
} from "../../admin/identity-providers.js";
import type { Patch } from "../../admin/patch.js";
import { withCaller } from "../guard.js";
import { deleted, pairs, payload, unpairs } from "../map.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

type ProviderInput = Omit<Patch<IdentityProviderFields>, "groupMapping"> & { groupMapping?: Array<{ claimValue: string; group: string }> | null };

function fields(input: ProviderInput): Patch<IdentityProviderFields> {
  const { groupMapping, ...rest } = input;
  return { ...rest, ...(groupMapping === undefined ? {} : { groupMapping: unpairs<string>(groupMapping, "claimValue", "group") }) };
}

/** Identity providers: CRUD (READ / WRITE; policy-affecting). */
export const identityProviderResolvers = {
  IdentityProvider: {
    groupMapping: (p: IdentityProviderView) => pairs(p.groupMapping, "claimValue", "group"),
  },
  Query: {
    identityProviders: withCaller(async (args: ConnectionArgs, _by, ctx) => toConnection(await listIdentityProviders(ctx.admin.db, pageRequest(args)))),
    identityProvider: withCaller((args: { id: string }, _by, ctx) => getIdentityProvider(ctx.admin.db, args.id)),
  },
  Mutation: {
    createIdentityProvider: withCaller(async (args: { input: ProviderInput }, by, ctx) =>
      payload("identityProvider", await createIdentityProvider(ctx.admin, by, fields(args.input))),
    ),
    updateIdentityProvider: withCaller(async (args: { id: string; input: ProviderInput }, by, ctx) =>
      payload("identityProvider", await updateIdentityProvider(ctx.admin, by, args.id, fields(args.input))),
    ),
    deleteIdentityProvider: withCaller(async (args: { id: string }, by, ctx) => deleted(await deleteIdentityProvider(ctx.admin, by, args.id))),
  },
};
