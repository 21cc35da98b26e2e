/**
 * The store's shared types. Both generated clients (prisma/sqlite/generated and
 * prisma/postgres/generated) come from the same models.prisma, so their model types are
 * identical; the SQLite client's types are used as the one `PrismaClient` type because
 * they are the common subset: the PostgreSQL client only adds `mode: "insensitive"`
 * string filters, `skipDuplicates` on createMany and array-style Json paths, none of
 * which the rest of the code may rely on (it must run on both databases).
 */
import type { PrismaClient as SqlitePrismaClient, Prisma } from "../../prisma/sqlite/generated/client.js";

/** The Prisma client type the rest of agentgate uses, whatever the database. */
export type PrismaClient = SqlitePrismaClient;

/** The client handed to `prisma.$transaction(async (tx) => ...)` callbacks. */
export type TransactionClient = Prisma.TransactionClient;

/** The database behind a store. */
export type StoreProvider = "sqlite" | "postgresql";

export type {
  AdminAudit,
  ApiToken,
  ApprovalRequest,
  Connection,
  Identity,
  IdentityProvider,
  MaskingProfile,
  Policy,
  Prisma,
  ProxyStatus,
  Role,
  RoleBinding,
  Session,
  SnapshotVersion,
} from "../../prisma/sqlite/generated/client.js";

/** Identity.status values. */
export type IdentityStatus = "active" | "suspended";
/** ApprovalRequest.status values. */
export type ApprovalStatus = "pending" | "approved" | "denied" | "expired";
/** Session.decision values. */
export type SessionDecision = "allow" | "deny";

// Null sentinels for Json columns (`{ before: DbNull }` stores SQL NULL); they are
// singletons of the shared runtime, valid for both generated clients.
export { AnyNull, DbNull, JsonNull, isUniqueViolation } from "./prisma-runtime.js";
