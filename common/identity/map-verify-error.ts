/**
 * Turns whatever `jwtVerify` (or our key source inside it) threw into one `AuthFailure` of the
 * closed set. The original error is kept as `cause` for logs only; the message is ours and fixed,
 * so no token material or attacker-chosen text reaches the client.
 */
import { errors } from "jose";
import { authFailure, type AuthFailure } from "./auth-error.js";
import { JwksUnavailableError } from "./jwks.js";

/** Maps a jose claim check failure by the claim it names. */
function claimFailure(err: errors.JWTClaimValidationFailed): AuthFailure {
  switch (err.claim) {
    case "aud":
      return authFailure("AUTHN_BAD_AUDIENCE", "token audience is not accepted", err);
    case "iss":
      return authFailure("AUTHN_UNKNOWN_ISSUER", "token issuer is not registered", err);
    case "nbf":
      return authFailure("AUTHN_NOT_YET_VALID", "token is not valid yet (nbf)", err);
    case "iat":
      return err.reason === "check_failed"
        ? authFailure("AUTHN_NOT_YET_VALID", "token is issued in the future (iat)", err)
        : authFailure("AUTHN_INVALID_CLAIMS", "token iat claim is invalid", err);
    default:
      return authFailure("AUTHN_INVALID_CLAIMS", `token claim ${claimName(err.claim)} is missing or invalid`, err);
  }
}

/** Only registered claim names go into messages; anything else is reported generically. */
function claimName(claim: string): string {
  return /^(?:exp|sub|iss|aud|nbf|iat|jti|typ)$/.test(claim) ? claim : "(unspecified)";
}

/** Maps an error thrown during verification to an `AuthFailure` (AUTHN_INTERNAL when unknown). */
export function mapVerifyError(err: unknown): AuthFailure {
  if (err instanceof JwksUnavailableError) {
    return authFailure("AUTHN_JWKS_UNAVAILABLE", "the issuer's signing keys are unavailable", err);
  }
  if (err instanceof errors.JWTExpired) return authFailure("AUTHN_EXPIRED", "token has expired", err);
  if (err instanceof errors.JWTClaimValidationFailed) return claimFailure(err);
  if (err instanceof errors.JOSEAlgNotAllowed) return authFailure("AUTHN_ALG_NOT_ALLOWED", "token algorithm is not allowed", err);
  if (err instanceof errors.JWSSignatureVerificationFailed) return authFailure("AUTHN_BAD_SIGNATURE", "token signature is invalid", err);
  if (err instanceof errors.JWKSNoMatchingKey) return authFailure("AUTHN_UNKNOWN_KEY", "no signing key of the issuer matches the token", err);
  if (err instanceof errors.JWKSMultipleMatchingKeys) {
    // jose 6 no longer tries each candidate; real IdPs always send `kid`, so this is a token without one.
    return authFailure("AUTHN_UNKNOWN_KEY", "several signing keys match; the token must name its kid", err);
  }
  if (err instanceof errors.JWKInvalid || err instanceof errors.JWKSInvalid) {
    return authFailure("AUTHN_UNKNOWN_KEY", "the issuer's signing key could not be used", err);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return authFailure("AUTHN_MALFORMED", "token is malformed", err);
  }
  return authFailure("AUTHN_INTERNAL", "token verification failed unexpectedly", err);
}
