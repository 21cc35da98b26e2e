/**
 * Runtime values of Prisma that do not depend on which generated client is in use:
 * both clients import the same `@prisma/client/runtime/client`, so its singletons and
 * error classes are shared.
 */
import { objectEnumValues, PrismaClientKnownRequestError } from "@prisma/client/runtime/client";

/** Stores SQL NULL in a nullable Json column. */
export const DbNull = objectEnumValues.instances.DbNull;
/** Stores the JSON value `null` in a Json column. */
export const JsonNull = objectEnumValues.instances.JsonNull;
/** Matches either kind of null in Json filters. */
export const AnyNull = objectEnumValues.instances.AnyNull;

/** True for Prisma's unique-constraint violation (P2002), e.g. a duplicate id or (proxyId, seq). */
export function isUniqueViolation(error: unknown): error is PrismaClientKnownRequestError {
  return error instanceof PrismaClientKnownRequestError && error.code === "P2002";
}
