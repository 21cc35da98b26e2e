/**
 * Every error the control plane's admin API can answer with, in one table (EXAMPLES habit
 * 6): a stable code, the HTTP status it stands for, and the one GraphQL error shape
 * `{message, extensions: {code, problems?}}`. The original cause stays in logs; it is never
 * sent to the client.
 */
import { GraphQLError } from "graphql";

/** The closed set of admin API error codes (GraphQL `extensions.code`). */
export type CpErrorCode = "UNAUTHENTICATED" | "FORBIDDEN" | "BAD_USER_INPUT" | "NOT_FOUND" | "CONFLICT" | "INTERNAL";

/**
 * HTTP status each code stands for. GraphQL answers 200 anyway (one response may mix fields
 * that succeeded and fields that failed); the table serves clients and logs that think in
 * HTTP terms and any future REST surface.
 */
export const CP_ERROR_STATUS: Readonly<Record<CpErrorCode, number>> = Object.freeze({
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INTERNAL: 500,
});

/**
 * An expected failure of an admin operation. `message` and `problems` are written for the
 * caller and must never contain secrets; `cause` is for logs only.
 */
export class CpError extends Error {
  constructor(
    readonly code: CpErrorCode,
    message: string,
    readonly problems: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CpError";
  }
}

/** A validation failure listing every problem found (never just the first). */
export function badInput(problems: readonly string[], message = "invalid input"): CpError {
  return new CpError("BAD_USER_INPUT", message, problems);
}

/** Throws `badInput(problems)` when there is at least one problem. */
export function assertNoProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw badInput(problems);
}

/** "<what> not found": the target of an operation does not exist. */
export function notFound(what: string): CpError {
  return new CpError("NOT_FOUND", `${what} not found`);
}

/** `row`, or a NOT_FOUND error naming `what` when it is null. */
export function orNotFound<T>(row: T | null, what: string): T {
  if (row === null) throw notFound(what);
  return row;
}

/**
 * The GraphQL error for any thrown value: a CpError keeps its code, message and problems;
 * anything else becomes a bare INTERNAL error, so a Prisma message, a SQL fragment or a
 * stack never reaches the client (the original is kept as `originalError` for logging).
 */
export function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (error instanceof CpError) {
    const extensions: Record<string, unknown> = { code: error.code };
    if (error.problems.length > 0) extensions["problems"] = [...error.problems];
    return new GraphQLError(error.message, { extensions, originalError: error });
  }
  return new GraphQLError("internal error", {
    extensions: { code: "INTERNAL" satisfies CpErrorCode },
    originalError: error instanceof Error ? error : new Error(String(error)),
  });
}
