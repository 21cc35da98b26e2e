import { createConnection, deleteConnection, getConnection, listConnections, updateConnection, type ConnectionInput } from "../../admin/connections.js";
import { z } from "zod";
import { connectionInputSchema, parseInput, updateSchema } from "../../admin/input-schemas.js";
import { withCaller } from "../guard.js";
import { deleted, payload } from "../map.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

// The shared connection shape; over GraphQL the credential itself comes along (write-only).
const create = connectionInputSchema.extend({ credential: z.string().nullish() });
const update = updateSchema(create);

/** Connections: CRUD (READ / WRITE; policy-affecting). Views never hold the credential. */
export const connectionResolvers = {
  Query: {
    connections: withCaller(async (args: ConnectionArgs, _by, ctx) => toConnection(await listConnections(ctx.admin.db, pageRequest(args)))),
    connection: withCaller((args: { id: string }, _by, ctx) => getConnection(ctx.admin.db, args.id)),
  },
  Mutation: {
    createConnection: withCaller(async (args: { input: ConnectionInput }, by, ctx) => payload("connection", await createConnection(ctx.admin, by, parseInput(create, args.input)))),
    updateConnection: withCaller(async (args: { id: string; input: ConnectionInput }, by, ctx) =>
      payload("connection", await updateConnection(ctx.admin, by, args.id, parseInput(update, args.input))),
    ),
    deleteConnection: withCaller(async (args: { id: string }, by, ctx) => deleted(await deleteConnection(ctx.admin, by, args.id))),
  },
};
