/**
 * The one wrapper every admin resolver goes through: authenticate (once per request),
 * authorize the scope, run, and turn any failure into a typed GraphQL error. Resolvers
 * stay thin: parse args → call a service → map.
 */
import type { Principal } from "../auth/principal.js";
import type { Scope } from "../auth/scopes.js";
import { CpError, toGraphQLError } from "../errors.js";
import type { GraphqlContext } from "./context.js";

/** A resolver as graphql-js calls it (parent, args, context). */
export type Resolver<P, A, R> = (parent: P, args: A, ctx: GraphqlContext) => Promise<R>;

/** The caller, or UNAUTHENTICATED / FORBIDDEN (missing `scope`) as a thrown CpError. */
export async function authorize(ctx: GraphqlContext, scope: Scope | null): Promise<Principal> {
  const auth = await ctx.auth();
  if (!auth.ok) throw new CpError(auth.code, auth.message);
  if (scope !== null && !auth.principal.scopes.has(scope)) throw new CpError("FORBIDDEN", `this operation requires the ${scope} scope`);
  return auth.principal;
}

/**
 * Wraps `fn` so it runs only for a caller holding `scope` (null: any authenticated caller),
 * with every error mapped by `toGraphQLError` (no internals reach the client).
 */
export function guarded<P, A, R>(scope: Scope | null, fn: (args: A, by: Principal, ctx: GraphqlContext, parent: P) => Promise<R> | R): Resolver<P, A, R> {
  return async (parent, args, ctx) => {
    try {
      const by = await authorize(ctx, scope);
      return await fn(args, by, ctx, parent);
    } catch (err) {
      throw toGraphQLError(err);
    }
  };
}
