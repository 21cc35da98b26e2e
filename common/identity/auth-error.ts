/**
 * The closed set of authentication failure codes produced by `common/identity`, and the one
 * value shape a failure takes. Failures are values, never exceptions (EXAMPLES habit 2): the
 * authenticate stage maps a code to the gateway's HTTP error (see `AUTH_ERROR_CODES`).
 *
 * Messages are fixed strings chosen here. They never contain the token, nor any claim value an
 * attacker controls (issuer, kid, ...), so they are safe to send to the client and to log.
 */

/** Every code, in one list: the union below is derived from it, tests iterate it. */
export const AUTH_ERROR_CODES = [
  /** No credentials at all (no Authorization header, empty token). → 401 */
  "AUTHN_MISSING",
  /** Not a well-formed compact JWS we accept: header, charset, size, base64url, JSON, `crit`. → 401 */
  "AUTHN_MALFORMED",
  /** `exp` is in the past (beyond the clock tolerance), or the token is older than maxTokenAge. → 401 */
  "AUTHN_EXPIRED",
  /** `nbf` or `iat` lies in the future beyond the clock tolerance. → 401 */
  "AUTHN_NOT_YET_VALID",
  /** The signature does not verify with the issuer's key of that `kid`. → 401 */
  "AUTHN_BAD_SIGNATURE",
  /** None of the token's `aud` values is one of the provider's audiences. → 401 */
  "AUTHN_BAD_AUDIENCE",
  /** `iss` is absent or is not exactly the issuer of a registered provider. → 401 */
  "AUTHN_UNKNOWN_ISSUER",
  /** The header `alg` is not in the provider's allow-list (covers `none` and HS* confusion). → 401 */
  "AUTHN_ALG_NOT_ALLOWED",
  /** The header `typ` says this is not an access token (e.g. `logout+jwt`, `id_token+jwt`): RFC 8725 §3.11. → 401 */
  "AUTHN_WRONG_TYPE",
  /** No (or more than one) key of the issuer's JWKS matches `kid`/`alg`, even after a refetch. → 401 */
  "AUTHN_UNKNOWN_KEY",
  /** The issuer's discovery document or JWKS could not be fetched or was invalid. → 503 (not the caller's fault) */
  "AUTHN_JWKS_UNAVAILABLE",
  /** Signed and current, but a required claim is missing or of the wrong type (`sub`, `exp`, ...). → 401 */
  "AUTHN_INVALID_CLAIMS",
  /** An unexpected error inside verification (a bug); fail closed, keep `cause` for logs. → 500 */
  "AUTHN_INTERNAL",
] as const;

/** A stable authentication failure code (see `AUTH_ERROR_CODES` for meanings). */
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

/**
 * A failed authentication, as a value. `cause` is for logs only (it may hold the decoded claims of
 * a rejected token, never the token itself) and must not be sent to the client.
 */
export interface AuthFailure {
  readonly ok: false;
  readonly code: AuthErrorCode;
  readonly message: string;
  readonly cause?: unknown;
}

/** Builds an `AuthFailure`; `cause` is attached only when given. */
export function authFailure(code: AuthErrorCode, message: string, cause?: unknown): AuthFailure {
  return cause === undefined ? { ok: false, code, message } : { ok: false, code, message, cause };
}
