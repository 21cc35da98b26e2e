/**
 * Strict parsing of the `Authorization` request header into a bearer token.
 *
 * Strict on purpose: one accepted spelling means the proxy, the upstream and any log parser agree
 * on what the credential is (no smuggling a second token behind a space or a comma).
 */
import { authFailure, type AuthFailure } from "./auth-error.js";
import { DEFAULT_MAX_TOKEN_BYTES } from "./unverified-jwt.js";

/** A token taken from the header, or why there is none (AUTHN_MISSING / AUTHN_MALFORMED). */
export type BearerResult = { readonly ok: true; readonly token: string } | AuthFailure;

// "Bearer" in any case, exactly one space, then a JWT-like token: base64url characters and dots.
const BEARER = /^Bearer ([A-Za-z0-9_.-]+)$/i;
const SCHEME = /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*(?: |$)/;

/**
 * Parses an `Authorization` header value as Node gives it (string, array when repeated, or
 * undefined). Absent or empty → AUTHN_MISSING. Repeated, another scheme, extra spaces, characters
 * outside base64url and ".", or longer than `maxTokenBytes` → AUTHN_MALFORMED.
 */
export function parseBearer(
  header: string | readonly string[] | undefined,
  maxTokenBytes = DEFAULT_MAX_TOKEN_BYTES,
): BearerResult {
  if (Array.isArray(header)) {
    if (header.length > 1) return authFailure("AUTHN_MALFORMED", "more than one Authorization header");
    header = header[0];
  }
  if (header === undefined || header === "") return authFailure("AUTHN_MISSING", "no Authorization header");
  const value = header as string;
  // "Bearer " is 7 characters; bound the work before running the pattern.
  if (value.length > maxTokenBytes + 7) return authFailure("AUTHN_MALFORMED", `bearer token is larger than ${maxTokenBytes} bytes`);
  const m = BEARER.exec(value);
  if (m) return { ok: true, token: m[1]! };
  const scheme = SCHEME.exec(value)?.[0].trim();
  if (scheme !== undefined && scheme.toLowerCase() !== "bearer") {
    return authFailure("AUTHN_MALFORMED", "unsupported Authorization scheme (expected Bearer)");
  }
  return authFailure("AUTHN_MALFORMED", "Authorization header is not 'Bearer <token>'");
}
