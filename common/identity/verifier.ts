/**
 * Bearer-token verification for every registered OIDC issuer at once: the one entry point the
 * proxy's authenticate stage and the control plane's GraphQL context call.
 *
 * Order of checks (cheap and certain first, cryptography last):
 *   size → cache → shape/untrusted decode → issuer lookup (exact `iss`) → `alg` allow-list → `typ` allow-list →
 *   jose `jwtVerify` (signature with the issuer's JWKS key, iss, aud, exp, nbf, required claims)
 *   → our extra checks (iat not in the future, sub non-empty) → identity (groups) → cache.
 * Everything is prepared once per provider in `createVerifier` (EXAMPLES habit 4); a change of
 * providers means a new verifier, hence a fresh cache: nothing verified under the old
 * configuration survives it.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from "jose";
import { authFailure, type AuthFailure } from "./auth-error.js";
import { extractGroups } from "./groups.js";
import { resolveIdentityProviders, type IdentityProviderConfig, type ResolvedIdentityProvider } from "./identity-providers.js";
import { createJwksSource, type JwksOptions, type JwksSource, type JwksStats } from "./jwks.js";
import { mapVerifyError } from "./map-verify-error.js";
import { tokenKey, VerifiedTokenCache, type TokenCacheOptions, type TokenKey } from "./token-cache.js";
import { decodeUnverifiedJwt, DEFAULT_MAX_TOKEN_BYTES } from "./unverified-jwt.js";
import type { HttpAllowance } from "./url-policy.js";

/** Who the caller is, from a verified token. Deeply frozen (it may be shared through the cache). */
export interface VerifiedIdentity {
  /** `id` of the provider that issued the token. */
  readonly providerId: string;
  /** `iss`, exactly as configured. (issuer, subject) is the identity's unique key. */
  readonly issuer: string;
  /** `sub` (non-empty). */
  readonly subject: string;
  /** `email` claim, when a string (informational: not proof of anything unless `email_verified`). */
  readonly email?: string;
  /** `name` claim, else `preferred_username`, when a string. */
  readonly name?: string;
  /** Groups from the provider's claim path and mapping (see `groups.ts`). Scoped to `issuer`. */
  readonly groups: readonly string[];
  /** `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
  /** All verified claims. */
  readonly claims: Readonly<JWTPayload>;
}

/** Outcome of `verify`: an identity, or a failure value with a code of the closed set. */
export type VerifyResult = { readonly ok: true; readonly identity: VerifiedIdentity } | AuthFailure;

/** The jose function we call; replaceable to count or instrument calls (tests, benchmarks). */
export type JwtVerifyFunction = (
  jwt: string,
  getKey: JWTVerifyGetKey,
  options: JWTVerifyOptions,
) => Promise<{ payload: JWTPayload }>;

/** Options of `createVerifier`. All optional. */
export interface VerifierOptions {
  /** Plain http for issuer/JWKS URLs: "loopback" for dev and tests, "any" for dev clusters. Default "never". */
  allowHttp?: HttpAllowance;
  /** JWKS fetching and caching (timeouts, size bounds, refetch cooldown). */
  jwks?: Omit<JwksOptions, "allowHttp" | "now">;
  /** Verified-token cache bounds, or `false` to disable it. */
  cache?: Omit<TokenCacheOptions, "now"> | false;
  /** Tokens longer than this are rejected unparsed. Default 8 KiB. */
  maxTokenBytes?: number;
  /** Clock in ms shared by jose, the cache and the JWKS cooldowns (tests). Default `Date.now`. */
  now?: () => number;
  /** The verification function; default jose's `jwtVerify`. */
  jwtVerify?: JwtVerifyFunction;
}

/** A verifier bound to one set of providers. */
export interface Verifier {
  /** Verifies a bearer token. Never rejects for a bad token: failures are values. */
  verify(token: string): Promise<VerifyResult>;
  /**
   * The cached verification of `token` (what `verify` would answer at once), or undefined:
   * then `verify` it. Synchronous, so a hot-path caller needs no promise for a cached token.
   */
  cached?(token: string): VerifySuccess | undefined;
  /** Drops cached verifications of one identity (e.g. just suspended); returns how many. */
  invalidateIdentity(issuer: string, subject: string): number;
  /** Drops every cached verification. */
  clear(): void;
  /** Fetches every issuer's keys now (start-up, readiness); never rejects. */
  warmUp(): Promise<Array<{ providerId: string; ok: boolean; message?: string }>>;
  /** Counters for metrics: cache size and per-provider JWKS stats. */
  stats(): { cacheSize: number; jwks: Record<string, JwksStats> };
}

/** Everything about one provider that can be computed before the first request. */
interface PreparedProvider {
  readonly provider: ResolvedIdentityProvider;
  readonly jwks: JwksSource;
  readonly algorithms: ReadonlySet<string>;
  readonly getKey: JWTVerifyGetKey;
  readonly verifyOptions: JWTVerifyOptions;
}

type VerifySuccess = Extract<VerifyResult, { ok: true }>;

/** Freezes a JSON value and everything in it (iteratively: nesting depth is attacker-influenced). */
function deepFreeze<T>(root: T): T {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null || Object.isFrozen(v)) continue;
    Object.freeze(v);
    for (const child of Object.values(v)) stack.push(child);
  }
  return root;
}

// Media types compare case-insensitively; "application/" may be omitted (RFC 7515 §4.1.9).
const ACCEPTED_TYPES = new Set(["jwt", "at+jwt", "application/jwt", "application/at+jwt"]);

/** The header `typ` values accepted for access tokens: absent, JWT or at+jwt. */
export function typAllowed(typ: unknown): boolean {
  return typ === undefined || (typeof typ === "string" && ACCEPTED_TYPES.has(typ.toLowerCase()));
}

function prepare(provider: ResolvedIdentityProvider, options: VerifierOptions, now: () => number): PreparedProvider {
  const jwks = createJwksSource(provider, { ...options.jwks, allowHttp: options.allowHttp ?? "never", now });
  const verifyOptions: JWTVerifyOptions = {
    issuer: provider.issuer,
    audience: [...provider.audiences],
    // Second line of defence: we already refused other algs before jose; jose refuses them again.
    algorithms: [...provider.allowedAlgorithms],
    clockTolerance: provider.clockToleranceSeconds,
    requiredClaims: ["exp", "sub", "iss"],
    ...(provider.maxTokenAgeSeconds !== undefined ? { maxTokenAge: provider.maxTokenAgeSeconds } : {}),
  };
  return {
    provider,
    jwks,
    algorithms: new Set(provider.allowedAlgorithms),
    getKey: (header) => jwks.getKey(header),
    verifyOptions: Object.freeze(verifyOptions),
  };
}

function buildIdentity(provider: ResolvedIdentityProvider, payload: JWTPayload, subject: string, exp: number): VerifiedIdentity {
  const { email, name, preferred_username: username } = payload;
  const display = typeof name === "string" ? name : typeof username === "string" ? username : undefined;
  return {
    providerId: provider.id,
    issuer: provider.issuer,
    subject,
    ...(typeof email === "string" ? { email } : {}),
    ...(display !== undefined ? { name: display } : {}),
    groups: extractGroups(payload, provider),
    expiresAt: exp,
    claims: payload,
  };
}

/**
 * Builds a verifier for `providers` (validated strictly; throws `IdentityProviderConfigError`
 * listing every problem — bad configuration is a deployment error, not a denial). No network
 * happens until the first token of an issuer (or `warmUp()`).
 */
export function createVerifier(providers: readonly IdentityProviderConfig[], options: VerifierOptions = {}): Verifier {
  const resolved = resolveIdentityProviders(providers, { allowHttp: options.allowHttp ?? "never" });
  const now = options.now ?? Date.now;
  const customClock = options.now !== undefined;
  const verifyJwt: JwtVerifyFunction = options.jwtVerify ?? jwtVerify;
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  const byIssuer = new Map<string, PreparedProvider>(resolved.map((p) => [p.issuer, prepare(p, options, now)]));
  const cache = options.cache === false ? undefined : new VerifiedTokenCache<VerifySuccess>({ ...options.cache, now });
  // Concurrent requests carrying the same new token share one verification.
  const inflight = new Map<TokenKey, Promise<VerifyResult>>();
  // Bumped by every invalidation: a verification that started before it must not refill the cache
  // (otherwise a token of a just-suspended identity could be re-cached by a request in flight).
  let generation = 0;

  async function verifyUncached(token: string, key: TokenKey): Promise<VerifyResult> {
    const started = generation;
    const decoded = decodeUnverifiedJwt(token, maxTokenBytes);
    if (!decoded.ok) return decoded;
    const iss = decoded.payload.iss;
    // Exact match only: no normalisation of trailing slashes or case, as OIDC requires.
    const prepared = typeof iss === "string" ? byIssuer.get(iss) : undefined;
    if (!prepared) return authFailure("AUTHN_UNKNOWN_ISSUER", "token issuer is not registered");
    // Refuse disallowed algorithms (none, HS*, ...) before any key lookup or network.
    if (!prepared.algorithms.has(decoded.header.alg as string)) {
      return authFailure("AUTHN_ALG_NOT_ALLOWED", "token algorithm is not allowed");
    }
    // Explicit typing (RFC 8725 §3.11, RFC 9068 §2.1): a logout token or another JWT kind
    // signed by the same issuer must not pass as an access token. Absent `typ` is accepted
    // (most IdPs' access tokens carry none or "JWT").
    if (!typAllowed(decoded.header.typ)) return authFailure("AUTHN_WRONG_TYPE", "token type (typ) is not an access token");
    const { provider } = prepared;
    const opts = customClock ? { ...prepared.verifyOptions, currentDate: new Date(now()) } : prepared.verifyOptions;
    let payload: JWTPayload;
    try {
      ({ payload } = await verifyJwt(token, prepared.getKey, opts));
    } catch (err) {
      return mapVerifyError(err);
    }
    // jose checks iat only with maxTokenAge; a token "issued" in the future is a clock or forgery
    // problem either way.
    const nowSec = Math.floor(now() / 1000);
    if (typeof payload.iat === "number" && payload.iat > nowSec + provider.clockToleranceSeconds) {
      return authFailure("AUTHN_NOT_YET_VALID", "token is issued in the future (iat)");
    }
    const { sub, exp } = payload;
    if (typeof sub !== "string" || sub.length === 0) return authFailure("AUTHN_INVALID_CLAIMS", "token sub claim is missing or invalid");
    if (typeof exp !== "number") return authFailure("AUTHN_INVALID_CLAIMS", "token exp claim is missing or invalid");
    const result: VerifySuccess = deepFreeze({ ok: true, identity: buildIdentity(provider, payload, sub, exp) });
    if (cache && started === generation) {
      let until = exp * 1000;
      if (provider.maxTokenAgeSeconds !== undefined && typeof payload.iat === "number") {
        until = Math.min(until, (payload.iat + provider.maxTokenAgeSeconds) * 1000);
      }
      cache.set(key, result, until);
    }
    return result;
  }

  return {
    cached(token: string): VerifySuccess | undefined {
      // The same bounds as verify: nothing is hashed for an empty or oversized token.
      if (cache === undefined || typeof token !== "string" || token.length === 0 || token.length > maxTokenBytes) return undefined;
      return cache.get(tokenKey(token));
    },
    async verify(token: string): Promise<VerifyResult> {
      if (typeof token !== "string" || token.length === 0) return authFailure("AUTHN_MISSING", "no bearer token");
      // Before hashing: bounds the work an oversized header can cause.
      if (token.length > maxTokenBytes) return authFailure("AUTHN_MALFORMED", `token is larger than ${maxTokenBytes} bytes`);
      const key = tokenKey(token);
      const hit = cache?.get(key);
      if (hit) return hit;
      const pending = inflight.get(key);
      if (pending) return pending;
      const run = verifyUncached(token, key)
        .catch((err: unknown) => mapVerifyError(err)) // fail closed on bugs, as a value
        .finally(() => inflight.delete(key));
      inflight.set(key, run);
      return run;
    },
    invalidateIdentity(issuer: string, subject: string): number {
      generation++;
      return cache?.deleteWhere((r) => r.identity.issuer === issuer && r.identity.subject === subject) ?? 0;
    },
    clear(): void {
      generation++;
      cache?.clear();
    },
    async warmUp() {
      return Promise.all(
        [...byIssuer.values()].map(async ({ provider, jwks }) => {
          try {
            await jwks.refresh();
            return { providerId: provider.id, ok: true };
          } catch (err) {
            return { providerId: provider.id, ok: false, message: err instanceof Error ? err.message : "unknown error" };
          }
        }),
      );
    },
    stats() {
      const jwks: Record<string, JwksStats> = {};
      for (const { provider, jwks: source } of byIssuer.values()) jwks[provider.id] = source.stats();
      return { cacheSize: cache?.size ?? 0, jwks };
    },
  };
}
