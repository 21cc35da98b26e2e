import { createHmac } from "node:crypto";

/**
 * Which exchanges share pseudonyms. `thread` (the default): the same value maps to the same
 * pseudonym on every turn of a thread, so a conversation through the gateway stays coherent
 * and an auditor can link its turns, while different threads stay unlinkable; `identity`: the
 * same across all of one identity's exchanges; `exchange`: a fresh key per exchange.
 */
export const PSEUDONYM_SCOPES = ["exchange", "thread", "identity"] as const;
export type PseudonymScope = (typeof PSEUDONYM_SCOPES)[number];
/** The scope of a policy that does not choose one. */
export const DEFAULT_PSEUDONYM_SCOPE: PseudonymScope = "thread";

/** Narrows a stored/transported value; anything else is undefined. */
export function pseudonymScopeOf(value: string): PseudonymScope | undefined {
  return (PSEUDONYM_SCOPES as readonly string[]).includes(value) ? (value as PseudonymScope) : undefined;
}

/** What an exchange knows that a scope can be keyed by. */
export interface PseudonymContext {
  threadId?: string | undefined;
  /** A stable, opaque id of the caller (e.g. its owner tag). */
  identity?: string | undefined;
}

/**
 * The HMAC key of an exchange's pseudonyms: derived from the gateway's `pseudonym` key (from the
 * control plane's secret, so the same on every proxy and across restarts, and useless without
 * it) and the scope's id; undefined = a random per-exchange key (scope `exchange`, or an
 * exchange without the thread or identity its scope needs, or no gateway key).
 */
export function pseudonymKey(gatewayKey: Buffer | undefined, scope: PseudonymScope, at: PseudonymContext): Buffer | undefined {
  if (!gatewayKey || scope === "exchange") return undefined;
  const id = scope === "thread" ? at.threadId : at.identity;
  if (!id) return undefined;
  return createHmac("sha256", gatewayKey).update(`agentgate pseudonyms\u0000${scope}\u0000${id}`).digest();
}
