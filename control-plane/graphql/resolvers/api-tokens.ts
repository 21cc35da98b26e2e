import { createApiToken, listApiTokens, revokeApiToken } from "../../admin/api-tokens.js";
import { apiTokenInputSchema, parseInput } from "../../admin/input-schemas.js";
import { withCaller } from "../guard.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

/** API tokens: list (READ), create/revoke (WRITE). The secret appears only in the create payload. */
export const apiTokenResolvers = {
  Query: {
    apiTokens: withCaller(async (args: ConnectionArgs, _by, ctx) => toConnection(await listApiTokens(ctx.admin.db, pageRequest(args)))),
  },
  Mutation: {
    createApiToken: withCaller(async (args: { input: unknown }, by, ctx) => {
      const { value } = await createApiToken(ctx.admin, by, parseInput(apiTokenInputSchema, args.input));
      return { apiToken: value.token, secret: value.secret };
    }),
    revokeApiToken: withCaller(async (args: { id: string }, by, ctx) => ({ apiToken: (await revokeApiToken(ctx.admin, by, args.id)).value })),
  },
};
