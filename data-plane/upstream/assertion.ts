import { createHmac } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { VerifiedIdentity } from "../pipeline/context.js";

// The JOSE header never changes: encode it once.
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
/** Lifetime of an assertion (exp − iat). */
export const ASSERTION_LIFETIME_SECONDS = 60;
/** How long one signed assertion is reused for the same identity: it reaches the upstream with ≥ 50 s left. */
export const ASSERTION_REUSE_MS = 10_000;

/**
 * A short-lived HS256 JWT asserting the caller's identity, for the upstream to trust
 * (header x-agentgate-assertion), signed with the snapshot's assertion key; undefined when
 * the snapshot has no key. Built with node:crypto's HMAC directly: jose would re-import the
 * key as a WebCrypto key on every request, which cost about a quarter of the proxy's CPU.
 * Any JWT library verifies it (iss "agentgate", aud "langgraph", 60 s lifetime). It names the
 * identity, not the exchange (the exchange's id travels in x-request-id / x-agentgate-session),
 * so it can be signed once per identity and reused: see AssertionSigner.
 */
export function signAssertion(assertionKey: string, identity: VerifiedIdentity, nowMs: number = Date.now()): string | undefined {
  if (!assertionKey) return undefined;
  const iat = Math.floor(nowMs / 1000);
  const claims = {
    email: identity.email,
    groups: identity.groups,
    idp: identity.issuer,
    iss: "agentgate",
    sub: identity.subject,
    aud: "langgraph",
    iat,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
  };
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${createHmac("sha256", assertionKey).update(input).digest("base64url")}`;
}

interface Signed {
  readonly assertionKey: string;
  readonly token: string;
  readonly signedAt: number;
}

/**
 * Signs each identity's assertion once per `reuseMs` instead of once per request (an HMAC and
 * a JSON/base64 encoding: ~15 µs of the proxy's CPU per request, issue #14). Keyed by the
 * verified identity object, which the verified-token cache hands out again for every request
 * with the same token; a different assertion key (a new snapshot) re-signs. Bounded LRU.
 */
export class AssertionSigner {
  readonly #cache: LRUCache<VerifiedIdentity, Signed>;
  readonly #reuseMs: number;
  readonly #now: () => number;

  constructor(opts: { reuseMs?: number; max?: number; now?: () => number } = {}) {
    this.#reuseMs = Math.min(opts.reuseMs ?? ASSERTION_REUSE_MS, (ASSERTION_LIFETIME_SECONDS * 1000) / 2);
    this.#now = opts.now ?? Date.now;
    this.#cache = new LRUCache({ max: opts.max ?? 10_000 });
  }

  /** The identity's current assertion under `assertionKey` (undefined without a key). */
  sign(assertionKey: string, identity: VerifiedIdentity): string | undefined {
    if (!assertionKey) return undefined;
    const now = this.#now();
    const hit = this.#cache.get(identity);
    // `now < signedAt`: the clock went back; sign afresh rather than trust an iat in the future.
    if (hit && hit.assertionKey === assertionKey && now >= hit.signedAt && now - hit.signedAt < this.#reuseMs) return hit.token;
    const token = signAssertion(assertionKey, identity, now)!;
    this.#cache.set(identity, { assertionKey, token, signedAt: now });
    return token;
  }
}

/** The proxy process's signer (stages share it: one cache per process). */
export const assertions = new AssertionSigner();
