import { errors } from "jose";
import { AUTH_ERROR_CODES } from "./auth-error.js";
import { JwksUnavailableError } from "./jwks.js";
import { mapVerifyError } from "./map-verify-error.js";

const claimErr = (claim: string, reason = "check_failed") => new errors.JWTClaimValidationFailed("x", { secret: "claims" }, claim, reason);

test.each([
  ["JwksUnavailableError", new JwksUnavailableError("https://i"), "AUTHN_JWKS_UNAVAILABLE"],
  ["JWTExpired", new errors.JWTExpired("x", {}, "exp"), "AUTHN_EXPIRED"],
  ["aud", claimErr("aud"), "AUTHN_BAD_AUDIENCE"],
  ["aud missing", claimErr("aud", "missing"), "AUTHN_BAD_AUDIENCE"],
  ["iss", claimErr("iss"), "AUTHN_UNKNOWN_ISSUER"],
  ["nbf", claimErr("nbf"), "AUTHN_NOT_YET_VALID"],
  ["iat in the future", claimErr("iat"), "AUTHN_NOT_YET_VALID"],
  ["iat not a number", claimErr("iat", "invalid"), "AUTHN_INVALID_CLAIMS"],
  ["sub missing", claimErr("sub", "missing"), "AUTHN_INVALID_CLAIMS"],
  ["typ", claimErr("typ"), "AUTHN_INVALID_CLAIMS"],
  ["alg not allowed", new errors.JOSEAlgNotAllowed(), "AUTHN_ALG_NOT_ALLOWED"],
  ["signature", new errors.JWSSignatureVerificationFailed(), "AUTHN_BAD_SIGNATURE"],
  ["no matching key", new errors.JWKSNoMatchingKey(), "AUTHN_UNKNOWN_KEY"],
  ["multiple matching keys", new errors.JWKSMultipleMatchingKeys(), "AUTHN_UNKNOWN_KEY"],
  ["bad JWK", new errors.JWKInvalid(), "AUTHN_UNKNOWN_KEY"],
  ["JWS invalid", new errors.JWSInvalid(), "AUTHN_MALFORMED"],
  ["JWT invalid", new errors.JWTInvalid(), "AUTHN_MALFORMED"],
  ["not supported", new errors.JOSENotSupported(), "AUTHN_MALFORMED"],
  ["a bug", new TypeError("boom"), "AUTHN_INTERNAL"],
  ["a non-error", "weird", "AUTHN_INTERNAL"],
])("%s → %s", (_name, err, code) => {
  const f = mapVerifyError(err);
  expect(f).toMatchObject({ ok: false, code });
  expect(AUTH_ERROR_CODES).toContain(f.code);
  expect(f.cause).toBe(err); // kept for logs
  expect(f.message).not.toMatch(/claims|boom|weird/); // our fixed text, not the error's
});

test("unregistered claim names are not echoed", () => {
  expect(mapVerifyError(claimErr("<script>")).message).toBe("token claim (unspecified) is missing or invalid");
});
