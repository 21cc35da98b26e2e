/**
 * Authenticates an `agt_` API token: shape check, lookup by prefix, constant-time hash
 * comparison, then revocation, expiry, the minter chain (no suspended root) and scopes. Marks the token used (throttled).
 */
import type { Db } from "../store/client.js";
import { jsonStrings } from "../admin/json.js";
import { API_TOKEN_PREFIX_LENGTH, tokenDigest, isApiTokenShape, sameHash } from "./api-token-secret.js";
import { authDenied, principal, tokenActor, type AuthResult } from "./principal.js";
import { isScope } from "./scopes.js";
import { mintedBySuspended } from "./minter-chain.js";

/** lastUsedAt is written at most this often per token (one write per request is waste). */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Checks one API token against the store. Failures are values (UNAUTHENTICATED). */
export async function authenticateApiToken(db: Db, token: string, now: Date = new Date()): Promise<AuthResult> {
  if (!isApiTokenShape(token)) return authDenied("UNAUTHENTICATED", "invalid API token");
  const hash = tokenDigest(token);
  const candidates = await db.apiToken.findMany({ where: { prefix: token.slice(0, API_TOKEN_PREFIX_LENGTH) } });
  // Prefixes may collide (8 random characters); the hash decides, compared in constant time.
  const row = candidates.find((c) => sameHash(c.secretHash, hash));
  if (!row) return authDenied("UNAUTHENTICATED", "invalid API token");
  if (row.revokedAt !== null) return authDenied("UNAUTHENTICATED", "API token revoked");
  if (row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime()) return authDenied("UNAUTHENTICATED", "API token expired");
  // Suspension revokes minted tokens; this check also covers every token that escaped that
  // (minted in a race with the suspension, or by a path that did not revoke).
  if (await mintedBySuspended(db, row.createdBy)) return authDenied("UNAUTHENTICATED", "API token minted by a suspended identity");
  // updateMany with a condition: no read-modify-write race, and no error if the token was
  // deleted meanwhile.
  await db.apiToken.updateMany({
    where: { id: row.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) } }] },
    data: { lastUsedAt: now },
  });
  return { ok: true, principal: principal("token", tokenActor(row.name), jsonStrings(row.scopes).filter(isScope)) };
}
