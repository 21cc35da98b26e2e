import {
  createIdentityProvider,
  deleteIdentityProvider,
  getIdentityProvider,
  listIdentityProviders,
  updateIdentityProvider,
  type IdentityProviderFields,
  type IdentityProviderView,
} from "../../admin/identity-providers.js";
import { identityProviderInputSchema, parseInput, updateSchema } from "../../admin/input-schemas.js";
import type { Patch } from "../../admin/patch.js";
import { withCaller } from "../guard.js";
import { deleted, pairs, payload, unpairs } from "../map.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

type ProviderInput = Omit<Patch<IdentityProviderFields>, "groupMapping"> & { groupMapping?: Array<{ claimValue: string; group: string }> | null };

/** GraphQL's pairs as the shared input shape (a map), parsed by the schema the policy file uses. */
function unpaired(input: ProviderInput) {
  const { groupMapping, ...rest } = input;
  return { ...rest, ...(groupMapping === undefined ? {} : { groupMapping: unpairs<string>(groupMapping, "claimValue", "group") }) };
}
const createInput = (input: ProviderInput) => parseInput(identityProviderInputSchema, unpaired(input));
const updateInput = (input: ProviderInput) => parseInput(updateSchema(identityProviderInputSchema), unpaired(input));

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
      payload("identityProvider", await createIdentityProvider(ctx.admin, by, createInput(args.input))),
    ),
    updateIdentityProvider: withCaller(async (args: { id: string; input: ProviderInput }, by, ctx) =>
      payload("identityProvider", await updateIdentityProvider(ctx.admin, by, args.id, updateInput(args.input))),
    ),
    deleteIdentityProvider: withCaller(async (args: { id: string }, by, ctx) => deleted(await deleteIdentityProvider(ctx.admin, by, args.id))),
  },
};
