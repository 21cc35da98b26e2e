/**
 * API tokens for automation: scoped, expiring, revocable. The secret is returned once, by
 * the create call, and only its sha256 is stored. Not policy-affecting (proxies never see
 * API tokens), so writes are audited without a snapshot version.
 */
import { generateApiTokenSecret } from "../auth/api-token-secret.js";
import { assertMayGrant } from "../auth/grant.js";
import { tokenActor, type Principal } from "../auth/principal.js";
import { SCOPES, isScope, type Scope } from "../auth/scopes.js";
import { assertNoProblems, orNotFound } from "../errors.js";
import type { Db, Tx } from "../store/client.js";
import type { AuditEntry } from "./change-log.js";
import type { ApiToken } from "../store/types.js";
import { nameProblems } from "../validation.js";
import { commitChange, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { assertUnique } from "./guards.js";
import { jsonStrings } from "./json.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";

/** An API token as the API shows it: never the secret nor its hash. */
export interface ApiTokenView {
  readonly id: string;
  readonly name: string;
  /** First characters of the token (`agt_` + 8), to recognise it. */
  readonly prefix: string;
  readonly scopes: readonly Scope[];
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

/** Input of {@link createApiToken}. */
export interface ApiTokenInput {
  readonly name: string;
  readonly scopes: readonly string[];
  /** Lifetime; default {@link DEFAULT_TOKEN_TTL_SECONDS}. Tokens always expire. */
  readonly expiresInSeconds?: number | null | undefined;
}

/** A new token: its view and the secret, which is never shown again. */
export interface NewApiToken {
  readonly token: ApiTokenView;
  readonly secret: string;
}

/** Lifetime of a token when the caller does not say: 90 days. */
export const DEFAULT_TOKEN_TTL_SECONDS = 90 * 86_400;
/** Longest lifetime: one year (a forgotten token must die eventually). */
export const MAX_TOKEN_TTL_SECONDS = 366 * 86_400;

function view(row: ApiToken): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: jsonStrings(row.scopes).filter(isScope),
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
  };
}

function problems(input: ApiTokenInput, ttl: number): string[] {
  const out = nameProblems("API token", input.name);
  if (input.scopes.length === 0) out.push(`API token: scopes must list at least one of ${SCOPES.join(", ")}`);
  for (const s of input.scopes) if (!isScope(s)) out.push(`API token: unknown scope ${JSON.stringify(s)} (known: ${SCOPES.join(", ")})`);
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > MAX_TOKEN_TTL_SECONDS) out.push(`API token: expiresInSeconds must be an integer from 60 to ${MAX_TOKEN_TTL_SECONDS}`);
  return out;
}

/** Lists tokens (revoked and expired ones included), oldest first. */
export async function listApiTokens(db: Db, page: PageRequest): Promise<Page<ApiTokenView>> {
  const { idAfter, orderBy, take } = pageArgs(page);
  return toPage(await db.apiToken.findMany({ where: idAfter, orderBy, take }), page, view);
}

/** Creates a token with scopes the caller holds itself; returns the secret once. */
export async function createApiToken(deps: AdminDeps, by: Principal, input: ApiTokenInput, now: Date = new Date()): Promise<Committed<NewApiToken>> {
  const ttl = input.expiresInSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  assertNoProblems(problems(input, ttl));
  const scopes = [...new Set(input.scopes.filter(isScope))];
  assertMayGrant(by, scopes, `API token ${input.name}`);
  const secret = generateApiTokenSecret();
  return commitChange(deps, by.actor, "admin", async (tx) => {
    assertUnique(await tx.apiToken.findUnique({ where: { name: input.name } }), undefined, `an API token named ${JSON.stringify(input.name)}`);
    if (by.identity) {
      // The token acts for its minter (approvals/decider.ts): record who that is and the
      // groups their roles come from, as of minting.
      const key = { issuer: by.identity.issuer, subject: by.identity.subject };
      await tx.identity.upsert({ where: { issuer_subject: key }, create: { ...key, groups: [...by.identity.groups], lastSeenAt: now }, update: { groups: [...by.identity.groups], lastSeenAt: now } });
    }
    const row = await tx.apiToken.create({
      data: { name: input.name, secretHash: secret.secretHash, prefix: secret.prefix, scopes, createdBy: by.actor, expiresAt: new Date(now.getTime() + ttl * 1000) },
    });
    return { value: { token: view(row), secret: secret.token }, audit: [{ action: "apiToken.create", target: `ApiToken:${row.id}`, after: view(row) }] };
  });
}

/** Revokes a token at once (revoking a revoked token changes nothing). */
export async function revokeApiToken(deps: AdminDeps, by: Principal, id: string, now: Date = new Date()): Promise<Committed<ApiTokenView>> {
  return commitChange(deps, by.actor, "admin", async (tx) => {
    const row = orNotFound(await tx.apiToken.findUnique({ where: { id } }), "API token");
    if (row.revokedAt !== null) return { value: view(row), audit: [] };
    const updated = await tx.apiToken.update({ where: { id }, data: { revokedAt: now } });
    return { value: view(updated), audit: [{ action: "apiToken.revoke", target: `ApiToken:${id}`, before: view(row), after: view(updated) }] };
  });
}

/**
 * Revokes every live token minted by `actor`, by the tokens it minted, and so on down the
 * chain: suspending an identity must not leave its tokens working. Returns the audit entries.
 */
export async function revokeTokensMintedBy(tx: Tx, actor: string, now: Date): Promise<AuditEntry[]> {
  const audit: AuditEntry[] = [];
  const seen = new Set<string>([actor]);
  let minters = [actor];
  while (minters.length > 0) {
    const children = await tx.apiToken.findMany({ where: { createdBy: { in: minters } } });
    minters = [];
    for (const row of children) {
      const childActor = tokenActor(row.name);
      if (!seen.has(childActor)) {
        seen.add(childActor);
        minters.push(childActor);
      }
      if (row.revokedAt !== null) continue;
      const updated = await tx.apiToken.update({ where: { id: row.id }, data: { revokedAt: now } });
      audit.push({ action: "apiToken.revoke", target: `ApiToken:${row.id}`, before: view(row), after: { ...view(updated), reason: `minted by suspended ${actor}` } });
    }
  }
  return audit;
}
