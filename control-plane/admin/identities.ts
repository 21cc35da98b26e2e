/**
 * Identities (people and workloads seen in tokens): listing with filters, and suspension,
 * which is policy-affecting: suspended identities travel in the snapshot and every proxy
 * refuses them at once, whatever their roles.
 */
import { CpError, assertNoProblems, orNotFound } from "../errors.js";
import type { Db, Tx } from "../store/client.js";
import type { Identity, IdentityStatus } from "../store/types.js";
import { oidcActor, type Principal } from "../auth/principal.js";
import { revokeTokensMintedBy } from "./api-tokens.js";
import { commitChange, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { jsonStrings } from "./json.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";

/** An identity as the API shows it. */
export interface IdentityView {
  readonly id: string;
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  readonly displayName: string | null;
  readonly status: IdentityStatus;
  readonly groups: readonly string[];
  readonly lastSeenAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Filters of {@link listIdentities}; all optional, combined with AND. */
export interface IdentityFilter {
  readonly status?: IdentityStatus | undefined;
  readonly issuer?: string | undefined;
  /** Substring of the subject, email or display name. */
  readonly search?: string | undefined;
}

/** Names one identity: by id, or by (issuer, subject) — possibly not seen yet. */
export interface IdentityRef {
  readonly id?: string | null | undefined;
  readonly issuer?: string | null | undefined;
  readonly subject?: string | null | undefined;
}

/** Maps a row to the view. */
export function identityView(row: Identity): IdentityView {
  return {
    id: row.id,
    issuer: row.issuer,
    subject: row.subject,
    email: row.email,
    displayName: row.displayName,
    status: row.status === "suspended" ? "suspended" : "active",
    groups: jsonStrings(row.groups),
    lastSeenAt: row.lastSeenAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Lists identities, oldest first. */
export async function listIdentities(db: Db, filter: IdentityFilter, page: PageRequest): Promise<Page<IdentityView>> {
  const { idAfter, orderBy, take } = pageArgs(page);
  const search = filter.search
    ? { OR: [{ subject: { contains: filter.search } }, { email: { contains: filter.search } }, { displayName: { contains: filter.search } }] }
    : {};
  const rows = await db.identity.findMany({
    where: { AND: [idAfter, search, filter.status ? { status: filter.status } : {}, filter.issuer ? { issuer: filter.issuer } : {}] },
    orderBy,
    take,
  });
  return toPage(rows, page, identityView);
}

/** One identity by id, or null. */
export async function getIdentity(db: Db, id: string): Promise<IdentityView | null> {
  const row = await db.identity.findUnique({ where: { id } });
  return row && identityView(row);
}

/** Checks that a ref names exactly one identity, one way. */
export function identityRefProblems(ref: IdentityRef): string[] {
  const byId = typeof ref.id === "string" && ref.id !== "";
  const byKey = typeof ref.issuer === "string" && ref.issuer !== "" && typeof ref.subject === "string" && ref.subject !== "";
  return byId !== byKey ? [] : ["identity: give either id, or issuer and subject"];
}

/**
 * Finds the identity a ref names. By (issuer, subject) it is created when `create` is set
 * (an admin may bind or suspend someone who has not signed in yet), else NOT_FOUND.
 */
export async function resolveIdentity(tx: Tx, ref: IdentityRef, create: boolean): Promise<Identity> {
  if (ref.id) return orNotFound(await tx.identity.findUnique({ where: { id: ref.id } }), "identity");
  const key = { issuer: ref.issuer!, subject: ref.subject! };
  if (create) return tx.identity.upsert({ where: { issuer_subject: key }, create: { ...key, groups: [] }, update: {} });
  return orNotFound(await tx.identity.findUnique({ where: { issuer_subject: key } }), "identity");
}

/**
 * Suspends or reactivates an identity. Setting the status it already has changes nothing
 * (no version bump, no audit row).
 */
export async function setIdentityStatus(deps: AdminDeps, by: Principal, ref: IdentityRef, status: IdentityStatus): Promise<Committed<IdentityView>> {
  assertNoProblems(identityRefProblems(ref));
  if (status !== "active" && status !== "suspended") throw new CpError("BAD_USER_INPUT", "unknown status");
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = await resolveIdentity(tx, ref, status === "suspended");
    if (row.status === status) return { value: identityView(row), audit: [] };
    const updated = await tx.identity.update({ where: { id: row.id }, data: { status } });
    const action = status === "suspended" ? "identity.suspend" : "identity.reactivate";
    // Suspension also revokes every API token the identity minted (reactivation does not revive them).
    const revoked = status === "suspended" ? await revokeTokensMintedBy(tx, oidcActor(row.issuer, row.subject), new Date()) : [];
    return { value: identityView(updated), audit: [{ action, target: `Identity:${row.id}`, before: identityView(row), after: identityView(updated) }, ...revoked] };
  });
}
