/**
 * Registered OIDC identity providers: the configuration shape, its defaults, and a strict
 * validator that reports every problem at once (EXAMPLES habit 7: validate at the edge, then trust
 * the types). Input comes from the control plane's IdentityProvider rows or a YAML file, so it is
 * treated as `unknown` here.
 */
import { checkKeyUrl, type HttpAllowance } from "./url-policy.js";

/**
 * Signature algorithms we accept from an OIDC issuer. Only asymmetric ones: the verifier gets its
 * keys from a public JWKS, and an HMAC "key" taken from there would be public (see below).
 */
export const ASYMMETRIC_JWS_ALGORITHMS: ReadonlySet<string> = new Set([
  "RS256", "RS384", "RS512",
  "PS256", "PS384", "PS512",
  "ES256", "ES384", "ES512",
  "EdDSA", "Ed25519",
]);

/** Algorithms allowed when a provider does not say: what Okta/Azure AD/Google/Keycloak sign with. */
export const DEFAULT_ALLOWED_ALGORITHMS: readonly string[] = Object.freeze(["RS256", "ES256"]);
/** Default leeway for exp/nbf/iat, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** Upper bound for the leeway: more would keep expired tokens alive noticeably longer. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

const MAX_GROUP_MAPPING_ENTRIES = 1000;
const MAX_TEXT = 256;
const MAX_URL = 2048;
const MAX_CLAIM_PATH_SEGMENTS = 16;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** One provider as configured (input). Optional fields take the documented defaults. */
export interface IdentityProviderConfig {
  /** Stable short id (e.g. "okta"), used in logs and problems. */
  id: string;
  /** Exact `iss` value of the tokens (compared byte for byte; a trailing slash matters). */
  issuer: string;
  /** JWKS URL; when absent it is discovered from `issuer + "/.well-known/openid-configuration"`. */
  jwksUri?: string;
  /** Accepted `aud` values; at least one must appear in the token (never skipped: confused deputy). */
  audiences: string[];
  /**
   * Where groups live in the claims: "groups", "roles", "realm_access.roles",
   * "https://example.com/groups". The whole string is tried as a literal key first, then as a
   * dotted path (any dot may also belong to a key).
   */
  groupsClaim: string;
  /** Allowed `alg` values; default ["RS256","ES256"]. "none" and HS* are rejected. */
  allowedAlgorithms?: string[];
  /** Leeway for exp/nbf/iat in seconds; default 30, max 300. */
  clockToleranceSeconds?: number;
  /**
   * Maps claim values to group names (see `groups.ts`): a key matches a value found at
   * `groupsClaim` (e.g. Google `hd` "example.com"), or, written "@example.com", the domain of a
   * verified email (`email_verified === true`).
   */
  groupMapping?: Record<string, string>;
  /** Optional: reject tokens whose `iat` is older than this many seconds (then `iat` is required). */
  maxTokenAgeSeconds?: number;
}

/** A validated provider with defaults applied; immutable. */
export interface ResolvedIdentityProvider {
  readonly id: string;
  readonly issuer: string;
  readonly jwksUri: string | undefined;
  readonly audiences: readonly string[];
  readonly groupsClaim: string;
  readonly allowedAlgorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  /** A Map, not an object: a claim value like "constructor" must not hit Object.prototype. */
  readonly groupMapping: ReadonlyMap<string, string>;
  readonly maxTokenAgeSeconds: number | undefined;
}

/** Options of the validator. */
export interface ProviderValidationOptions {
  /** Plain http for issuer/JWKS URLs (dev only); default "never". */
  allowHttp?: HttpAllowance;
}

/** Result of validation: all providers, or every problem found (never just the first). */
export type ProvidersValidation =
  | { ok: true; providers: readonly ResolvedIdentityProvider[] }
  | { ok: false; problems: string[] };

/** Thrown by `resolveIdentityProviders` for bad configuration (a deployment error, not a denial). */
export class IdentityProviderConfigError extends Error {
  /** Every problem found. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid identity provider configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "IdentityProviderConfigError";
    this.problems = problems;
  }
}

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  "id", "issuer", "jwksUri", "audiences", "groupsClaim", "allowedAlgorithms",
  "clockToleranceSeconds", "groupMapping", "maxTokenAgeSeconds",
]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isNonEmptyText(v: unknown, max: number): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= max && v.trim() === v;
}

/** Checks one algorithm name; returns a problem or undefined. */
function algorithmProblem(alg: unknown): string | undefined {
  if (typeof alg !== "string") return "must be a string";
  if (alg.toLowerCase() === "none") return '"none" is never allowed (it means an unsigned token)';
  if (/^HS\d+$/i.test(alg)) {
    // Algorithm confusion: with HS* the verifier would use the issuer's *public* key (from the
    // JWKS) as the HMAC secret, so anyone could sign tokens. OIDC issuers sign asymmetrically.
    return `${alg} is symmetric; only asymmetric algorithms are allowed for an OIDC issuer`;
  }
  if (!ASYMMETRIC_JWS_ALGORITHMS.has(alg)) {
    return `${alg} is not supported (allowed: ${[...ASYMMETRIC_JWS_ALGORITHMS].join(", ")})`;
  }
  return undefined;
}

function claimPathProblem(path: string): string | undefined {
  if (path.startsWith(".") || path.endsWith(".") || path.includes("..")) return "must not have empty segments";
  if (path.split(".").length > MAX_CLAIM_PATH_SEGMENTS) return `must have at most ${MAX_CLAIM_PATH_SEGMENTS} segments`;
  return undefined;
}

/**
 * Validates one provider. Problems are pushed to `problems`, prefixed with `where`; the resolved
 * provider is returned only when this entry had none.
 */
function validateOne(
  input: unknown,
  where: string,
  options: Required<ProviderValidationOptions>,
  problems: string[],
): ResolvedIdentityProvider | undefined {
  const before = problems.length;
  const add = (field: string, problem: string): void => void problems.push(`${where}.${field}: ${problem}`);
  if (!isPlainObject(input)) {
    problems.push(`${where}: must be an object`);
    return undefined;
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) add(key, "unknown field");
  }

  const { id, issuer, jwksUri, audiences, groupsClaim } = input;
  if (typeof id !== "string" || !ID_PATTERN.test(id)) add("id", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  if (!isNonEmptyText(issuer, MAX_URL)) add("issuer", "must be a non-empty URL without surrounding spaces");
  else {
    const checked = checkKeyUrl(issuer, options.allowHttp);
    if (!checked.ok) add("issuer", checked.problem);
    else if (checked.url.search !== "") add("issuer", "must not contain a query (OIDC Discovery §3)");
  }

  if (jwksUri !== undefined) {
    if (!isNonEmptyText(jwksUri, MAX_URL)) add("jwksUri", "must be a non-empty URL");
    else {
      const checked = checkKeyUrl(jwksUri, options.allowHttp);
      if (!checked.ok) add("jwksUri", checked.problem);
    }
  }

  if (!Array.isArray(audiences) || audiences.length === 0) add("audiences", "must be a non-empty array");
  else {
    audiences.forEach((a, i) => {
      if (!isNonEmptyText(a, 512)) add(`audiences[${i}]`, "must be a non-empty string (max 512)");
    });
    if (new Set(audiences).size !== audiences.length) add("audiences", "must not contain duplicates");
  }

  if (!isNonEmptyText(groupsClaim, MAX_TEXT)) add("groupsClaim", `must be a non-empty string (max ${MAX_TEXT})`);
  else {
    const p = claimPathProblem(groupsClaim);
    if (p) add("groupsClaim", p);
  }

  // Only `undefined` means "use the default"; null or other junk is reported.
  const algs = input.allowedAlgorithms === undefined ? DEFAULT_ALLOWED_ALGORITHMS : input.allowedAlgorithms;
  if (!Array.isArray(algs) || algs.length === 0) add("allowedAlgorithms", "must be a non-empty array");
  else {
    algs.forEach((a: unknown, i) => {
      const p = algorithmProblem(a);
      if (p) add(`allowedAlgorithms[${i}]`, p);
    });
    if (new Set(algs).size !== algs.length) add("allowedAlgorithms", "must not contain duplicates");
  }

  const tolerance =
    input.clockToleranceSeconds === undefined ? DEFAULT_CLOCK_TOLERANCE_SECONDS : input.clockToleranceSeconds;
  if (typeof tolerance !== "number" || !Number.isInteger(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SECONDS) {
    add("clockToleranceSeconds", `must be an integer from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`);
  }

  const maxAge = input.maxTokenAgeSeconds;
  if (maxAge !== undefined && (typeof maxAge !== "number" || !Number.isInteger(maxAge) || maxAge <= 0)) {
    add("maxTokenAgeSeconds", "must be a positive integer");
  }

  const mapping = new Map<string, string>();
  const rawMapping = input.groupMapping;
  if (rawMapping !== undefined) {
    if (!isPlainObject(rawMapping)) add("groupMapping", "must be an object of string to string");
    else {
      const entries = Object.entries(rawMapping);
      if (entries.length > MAX_GROUP_MAPPING_ENTRIES) add("groupMapping", `must have at most ${MAX_GROUP_MAPPING_ENTRIES} entries`);
      for (const [from, to] of entries) {
        if (!isNonEmptyText(from, MAX_TEXT) || from === "@") add(`groupMapping[${JSON.stringify(from)}]`, "key must be a non-empty string");
        else if (!isNonEmptyText(to, MAX_TEXT)) add(`groupMapping[${JSON.stringify(from)}]`, `value must be a non-empty string (max ${MAX_TEXT})`);
        // Email domains are compared lower-case (DNS is case-insensitive); group values exactly.
        else mapping.set(from.startsWith("@") ? from.toLowerCase() : from, to);
      }
    }
  }

  if (problems.length !== before) return undefined;
  return Object.freeze({
    id: id as string,
    issuer: issuer as string,
    jwksUri: jwksUri as string | undefined,
    audiences: Object.freeze([...(audiences as string[])]),
    groupsClaim: groupsClaim as string,
    allowedAlgorithms: Object.freeze([...(algs as string[])]),
    clockToleranceSeconds: tolerance as number,
    groupMapping: mapping,
    maxTokenAgeSeconds: maxAge as number | undefined,
  });
}

/**
 * Validates a list of providers strictly: unknown fields, URLs (https unless allowed), audiences,
 * claim path, algorithm allow-list (never "none", never HS*), tolerance bounds, mapping, and
 * duplicate ids or issuers across the list. Returns every problem, never just the first.
 */
export function validateIdentityProviders(input: unknown, options: ProviderValidationOptions = {}): ProvidersValidation {
  const opts: Required<ProviderValidationOptions> = { allowHttp: options.allowHttp ?? "never" };
  if (!Array.isArray(input)) return { ok: false, problems: ["providers: must be an array"] };
  const problems: string[] = [];
  const providers: ResolvedIdentityProvider[] = [];
  const ids = new Set<string>();
  const issuers = new Set<string>();
  input.forEach((entry: unknown, i) => {
    const name = isPlainObject(entry) && typeof entry.id === "string" ? ` (${entry.id})` : "";
    const resolved = validateOne(entry, `providers[${i}]${name}`, opts, problems);
    if (!resolved) return;
    // Two providers with one issuer would make "which JWKS and audiences apply" ambiguous.
    if (ids.has(resolved.id)) problems.push(`providers[${i}]${name}.id: duplicate id`);
    if (issuers.has(resolved.issuer)) problems.push(`providers[${i}]${name}.issuer: duplicate issuer`);
    ids.add(resolved.id);
    issuers.add(resolved.issuer);
    providers.push(resolved);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, providers: Object.freeze(providers) };
}

/** Like `validateIdentityProviders`, but throws `IdentityProviderConfigError` listing all problems. */
export function resolveIdentityProviders(
  input: unknown,
  options: ProviderValidationOptions = {},
): readonly ResolvedIdentityProvider[] {
  const result = validateIdentityProviders(input, options);
  if (!result.ok) throw new IdentityProviderConfigError(result.problems);
  return result.providers;
}
