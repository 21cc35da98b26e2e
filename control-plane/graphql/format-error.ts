/**
 * Apollo's `formatError`: the last gate before an error reaches the client. Known errors
 * (ours, and Apollo's parse/validation/input errors) keep their message and code; anything
 * else becomes `internal error` / INTERNAL and is logged here with its real cause, so a
 * Prisma message, a SQL fragment or a stack trace never leaves the process.
 */
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { log } from "../../common/observability/log.js";
import { CpError, type CpErrorCode } from "../errors.js";

// Codes whose messages are written for the client by us or by Apollo/graphql-js.
const CLIENT_CODES: ReadonlySet<string> = new Set([
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "BAD_REQUEST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "INTROSPECTION_DISABLED",
  "MAX_RECURSIVE_SELECTIONS_EXCEEDED",
]);

function located(formatted: GraphQLFormattedError): Pick<GraphQLFormattedError, "locations" | "path"> {
  return { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
}

// graphql-js wraps what a resolver throws (itself a GraphQLError from toGraphQLError) in
// another GraphQLError carrying the path: descend to the first non-GraphQL error.
function rootCause(error: unknown): unknown {
  let e = error;
  while (e instanceof GraphQLError && e.originalError) e = e.originalError;
  return e;
}

/** Formats one error for the response (see the module comment). */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = rootCause(error);
  if (original instanceof CpError) {
    const extensions: Record<string, unknown> = { code: original.code };
    if (original.problems.length > 0) extensions["problems"] = [...original.problems];
    return { message: original.message, ...located(formatted), extensions };
  }
  const code = formatted.extensions?.["code"];
  if (typeof code === "string" && CLIENT_CODES.has(code)) {
    const problems = formatted.extensions?.["problems"];
    return { message: formatted.message, ...located(formatted), extensions: { code, ...(Array.isArray(problems) ? { problems } : {}) } };
  }
  log.error("graphql internal error", { err: original, path: formatted.path });
  return { message: "internal error", ...located(formatted), extensions: { code: "INTERNAL" satisfies CpErrorCode } };
}
