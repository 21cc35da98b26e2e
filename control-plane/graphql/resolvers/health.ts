import type { GraphqlContext } from "../context.js";

/** Liveness for monitors and the start-up banner; public (it reveals no policy). */
export const healthResolvers = {
  Query: {
    health: (_: unknown, __: unknown, ctx: GraphqlContext) => ({
      status: "ok",
      snapshotVersion: String(ctx.publisher.current()?.version ?? 0n),
      database: ctx.provider,
      connectedProxies: ctx.proxies.list().filter((p) => p.connected).length,
    }),
  },
};
