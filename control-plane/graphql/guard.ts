/**
 * The wrapper every admin resolver goes through: hands the resolver its caller and turns any
 * failure into a typed GraphQL error. It does NOT authorize: who may call a field is decided
 * in one place only, the access table (access.ts), before the resolver runs. Resolvers stay
 * thin: parse args → call a service → map.
 */
import type { Principal } from "../auth/principal.js";
import { CpError, toGraphQLError } from "../errors.js";
import type { GraphqlContext } from "./context.js";

/** A resolver as graphql-js calls it (parent, args, context). */
export type Resolver<P, A, R> = (parent: P, args: A, ctx: GraphqlContext) => Promise<R>;

/** The authenticated caller (the access table already let it through), or UNAUTHENTICATED. */
async function caller(ctx: GraphqlContext): Promise<Principal> {
  const auth = await ctx.auth();
  if (!auth.ok) throw new CpError(auth.code, auth.message);
  return auth.principal;
}

/** Wraps `fn` with its caller; every error is mapped by `toGraphQLError` (no internals reach the client). */
export function withCaller<P, A, R>(fn: (args: A, by: Principal, ctx: GraphqlContext, parent: P) => Promise<R> | R): Resolver<P, A, R> {
  return async (parent, args, ctx) => {
    try {
      return await fn(args, await caller(ctx), ctx, parent);
    } catch (err) {
      throw toGraphQLError(err);
    }
  };
}
