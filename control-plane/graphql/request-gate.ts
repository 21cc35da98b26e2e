/**
 * Checks before execution, besides the validation limits (limits.ts): the parser stops at
 * MAX_QUERY_TOKENS; introspection — when enabled at all — answers only authenticated
 * callers, so nobody without a credential can make the API walk its schema; a string
 * literal holding U+0000 is BAD_USER_INPUT (the HTTP handler checks variables the same way).
 */
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, visit, type DocumentNode } from "graphql";
import type { GraphqlContext } from "./context.js";

/** Largest document the parser reads, in tokens (the standard introspection query is ~300). */
export const MAX_QUERY_TOKENS = 5_000;

/** Whether the document selects `__schema`/`__type` anywhere, and whether a string literal holds U+0000. */
export function scanDocument(document: DocumentNode): { introspection: boolean; nul: boolean } {
  const found = { introspection: false, nul: false };
  visit(document, {
    Field(node) {
      if (node.name.value === "__schema" || node.name.value === "__type") found.introspection = true;
    },
    StringValue(node) {
      if (node.value.includes("\u0000")) found.nul = true;
    },
  });
  return found;
}

/** Apollo plugin: no U+0000 literals; an operation using introspection runs only for an authenticated caller. */
export const requestGate: ApolloServerPlugin<GraphqlContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ document, contextValue }) {
        const found = scanDocument(document);
        if (found.nul) throw new GraphQLError("strings must not contain U+0000", { extensions: { code: "BAD_USER_INPUT", http: { status: 200 } } });
        if (!found.introspection) return;
        const auth = await contextValue.auth();
        if (!auth.ok) throw new GraphQLError("introspection requires authentication", { extensions: { code: "UNAUTHENTICATED", http: { status: 200 } } });
      },
    };
  },
};
