/**
 * Per-issuer JWKS cache: the keys we trust for one issuer, fetched lazily, refreshed in the
 * background when old, and refetched on an unknown `kid` — at most once per cooldown.
 *
 * Why not jose's `createRemoteJWKSet`: it has no response size bound, and its cooldown starts only
 * after a *successful* fetch, so while an IdP is failing every request with an unknown kid would
 * trigger a new fetch. Here the cooldown starts at every *attempt*, fetches are bounded
 * (`fetch-json.ts`), concurrent refreshes are shared, and a failed refresh keeps the last good
 * keys. Key selection and import still use jose's `createLocalJWKSet`.
 */
import { createLocalJWKSet, errors, type CryptoKey, type JSONWebKeySet, type JWK, type JWSHeaderParameters } from "jose";
import type { Dispatcher } from "undici";
import { createJwksUriResolver } from "./discovery.js";
import { fetchJson, FetchJsonError } from "./fetch-json.js";
import type { ResolvedIdentityProvider } from "./identity-providers.js";
import type { HttpAllowance } from "./url-policy.js";

/** Tuning of JWKS fetching; every field has a safe default. */
export interface JwksOptions {
  /** Timeout of one discovery or JWKS fetch, ms. Default 5000. */
  fetchTimeoutMs?: number;
  /** Size bound of one discovery document or JWKS, bytes. Default 256 KiB. */
  maxResponseBytes?: number;
  /** Minimum time between two refetches of one issuer's JWKS caused by unknown kids, ms. Default 30 000. */
  refetchCooldownMs?: number;
  /** While we hold no keys at all (IdP down at start), minimum time between attempts, ms. Default 5000. */
  unavailableRetryMs?: number;
  /** Age after which keys are refreshed in the background (rotation, revocation), ms. Default 600 000. */
  maxAgeMs?: number;
  /** A JWKS with more keys than this is rejected. Default 100. */
  maxKeys?: number;
  /** Plain http for discovery/JWKS URLs; default "never". */
  allowHttp?: HttpAllowance;
  /** Clock in ms (tests). Default `Date.now`. */
  now?: () => number;
  /** undici dispatcher for the fetches (e.g. an egress proxy). */
  dispatcher?: Dispatcher;
}

/** Counters of one source, for metrics and tests. */
export interface JwksStats {
  /** Refresh attempts started (each is a JWKS fetch, plus discovery the first time). */
  readonly fetches: number;
  /** Refresh attempts that failed. */
  readonly failures: number;
  /** Keys currently trusted. */
  readonly keyCount: number;
  /** When the current keys were fetched (ms), or undefined before the first success. */
  readonly fetchedAt: number | undefined;
}

/** The keys of one issuer, as a jose key resolver plus introspection. */
export interface JwksSource {
  readonly issuer: string;
  /**
   * jose-compatible key resolver (pass it to `jwtVerify`). Rejects with jose's
   * `JWKSNoMatchingKey`/`JWKSMultipleMatchingKeys`, or with `JwksUnavailableError`.
   */
  getKey(header: JWSHeaderParameters): Promise<CryptoKey>;
  /** Fetches now (start-up warm-up, readiness); rejects with `JwksUnavailableError`. */
  refresh(): Promise<void>;
  /** Counters. */
  stats(): JwksStats;
}

/** The issuer's keys could not be obtained (fetch failed, cooling down, or invalid document). */
export class JwksUnavailableError extends Error {
  constructor(issuer: string, options?: { cause?: unknown }) {
    super(`JWKS of ${issuer} is unavailable`, options);
    this.name = "JwksUnavailableError";
  }
}

/** Members that only private or symmetric keys carry: such a JWK must never be a verification key. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"] as const;
/** RSA algorithms (RS*, PS*) require ≥ 2048-bit moduli (jose throws a TypeError otherwise): 256 bytes = 342 base64url chars. */
const MIN_RSA_MODULUS_CHARS = 342;

/**
 * Validates a fetched JWKS and keeps only public, asymmetric keys. A key set with private or
 * symmetric members is an IdP misconfiguration; dropping those keys (rather than trusting them)
 * closes the door to HMAC-with-public-key confusion at the key layer too.
 */
function toPublicKeySet(json: unknown, maxKeys: number): JSONWebKeySet {
  if (typeof json !== "object" || json === null || !Array.isArray((json as { keys?: unknown }).keys)) {
    throw new FetchJsonError("JWKS is not an object with a keys array");
  }
  const keys = (json as { keys: unknown[] }).keys;
  if (keys.length > maxKeys) throw new FetchJsonError(`JWKS has more than ${maxKeys} keys`);
  const kept: JWK[] = [];
  for (const k of keys) {
    if (typeof k !== "object" || k === null || Array.isArray(k)) continue;
    const jwk = k as Record<string, unknown>;
    if (typeof jwk.kty !== "string" || jwk.kty === "oct") continue;
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) continue;
    if (jwk.kty === "RSA" && (typeof jwk.n !== "string" || jwk.n.length < MIN_RSA_MODULUS_CHARS)) continue;
    kept.push(jwk);
  }
  return { keys: kept };
}

/** Wraps a non-jose failure of key selection/import (e.g. WebCrypto DataError) as a jose JWK error. */
function asKeyError(err: unknown): unknown {
  return err instanceof errors.JOSEError || err instanceof JwksUnavailableError
    ? err
    : new errors.JWKInvalid("a JWKS key could not be imported", { cause: err });
}

const noop = (): void => {};

/** Creates the JWKS source of one provider (no network until the first `getKey`/`refresh`). */
export function createJwksSource(
  provider: Pick<ResolvedIdentityProvider, "issuer" | "jwksUri">,
  options: JwksOptions = {},
): JwksSource {
  const now = options.now ?? Date.now;
  const refetchCooldownMs = options.refetchCooldownMs ?? 30_000;
  // Never two fetches back to back: keys fetched this recently are the IdP's current ones.
  const MIN_REFETCH_GAP_MS = Math.min(500, refetchCooldownMs);
  const unavailableRetryMs = options.unavailableRetryMs ?? 5_000;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const maxKeys = options.maxKeys ?? 100;
  const fetchOptions = {
    timeoutMs: options.fetchTimeoutMs ?? 5_000,
    maxBytes: options.maxResponseBytes ?? 256 * 1024,
    dispatcher: options.dispatcher,
  };
  const resolveJwksUri = createJwksUriResolver(provider.issuer, provider.jwksUri, {
    fetch: fetchOptions,
    allowHttp: options.allowHttp ?? "never",
  });
  const { issuer } = provider;

  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let keyCount = 0;
  let fetchedAt: number | undefined;
  // The cooldown is measured from the last *attempt*, successful or not (see module comment).
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  // Refetches caused by unknown kids are rate-limited on their own clock: a key rotation
  // right after start-up (or after a scheduled refresh) is picked up at once, while a
  // client spraying random kids still causes at most one fetch per cooldown.
  let lastUnknownKidRefetchAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;
  let fetches = 0;
  let failures = 0;

  /** One refresh at a time: concurrent callers share the in-flight promise. */
  function refresh(): Promise<void> {
    if (inflight) return inflight;
    lastAttemptAt = now();
    fetches++;
    const attempt = (async () => {
      const url = await resolveJwksUri();
      const set = toPublicKeySet(await fetchJson(url, fetchOptions), maxKeys);
      const next = createLocalJWKSet(set); // validates the set's shape (JWKSInvalid)
      keys = next;
      keyCount = set.keys.length;
      fetchedAt = now();
    })();
    const shared = attempt
      .catch((cause: unknown) => {
        failures++;
        throw new JwksUnavailableError(issuer, { cause });
      })
      .finally(() => {
        inflight = undefined;
      });
    inflight = shared;
    return shared;
  }

  const sinceAttempt = (): number => now() - lastAttemptAt;

  async function getKey(header: JWSHeaderParameters): Promise<CryptoKey> {
    if (!keys) {
      // No keys yet: fetch (or join a fetch), but not more often than unavailableRetryMs.
      if (!inflight && sinceAttempt() < unavailableRetryMs) throw new JwksUnavailableError(issuer);
      await refresh();
    } else if (fetchedAt !== undefined && now() - fetchedAt >= maxAgeMs && !inflight && sinceAttempt() >= refetchCooldownMs) {
      // Old keys: refresh in the background and keep serving the current ones (a failing IdP
      // must not take authentication down while its keys are still the ones it signs with).
      refresh().catch(noop);
    }
    const current = keys;
    if (!current) throw new JwksUnavailableError(issuer);
    try {
      return await current(header);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw asKeyError(err);
      // Unknown kid: the IdP may have rotated. Refetch — but at most once per cooldown per issuer,
      // so a client spraying random kids cannot make us hammer the IdP.
      if (inflight) await inflight.catch(noop);
      else if (now() - lastUnknownKidRefetchAt >= refetchCooldownMs && sinceAttempt() >= MIN_REFETCH_GAP_MS) {
        lastUnknownKidRefetchAt = now();
        await refresh();
      } else throw err;
      if (keys === current || !keys) throw err;
      try {
        return await keys(header);
      } catch (again) {
        throw asKeyError(again);
      }
    }
  }

  return {
    issuer,
    getKey,
    refresh,
    stats: () => ({ fetches, failures, keyCount, fetchedAt }),
  };
}
