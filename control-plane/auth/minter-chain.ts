/**
 * An API token acts for whoever minted it, and a token minted by a token for the first
 * one's minter, and so on. The root of that chain decides what the token stands for:
 * approvals check the root identity's roles (approvals/decider.ts), and authentication
 * refuses every token whose root identity is suspended — whenever the token was minted and
 * whichever path suspended the identity (so a token minted in a race with the suspension,
 * or before revocation on suspension existed, is refused too).
 */
import type { Db, Tx } from "../store/client.js";
import { BOOTSTRAP_ACTOR, parseOidcActor } from "./principal.js";

// Token chains are short; a longer one (or a cycle, impossible by construction) stops here.
const MAX_CHAIN = 32;
const TOKEN_ACTOR = "token:";

/** The audit name at the root of `actor`'s minting chain (an oidc: actor, or a bootstrap/unknown one). */
export async function rootActor(db: Db | Tx, actor: string): Promise<string> {
  let current = actor;
  for (let i = 0; i < MAX_CHAIN && current.startsWith(TOKEN_ACTOR) && current !== BOOTSTRAP_ACTOR; i++) {
    const token = await db.apiToken.findUnique({ where: { name: current.slice(TOKEN_ACTOR.length) }, select: { createdBy: true } });
    if (!token) return current;
    current = token.createdBy;
  }
  return current;
}

/** True when the identity at the root of `mintedBy`'s chain is suspended. */
export async function mintedBySuspended(db: Db | Tx, mintedBy: string): Promise<boolean> {
  const root = parseOidcActor(await rootActor(db, mintedBy));
  if (!root) return false;
  const identity = await db.identity.findUnique({ where: { issuer_subject: root }, select: { status: true } });
  return identity?.status === "suspended";
}
