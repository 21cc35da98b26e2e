/**
 * Shape check and *untrusted* decoding of a compact JWT, done before any cryptography.
 *
 * Nothing decoded here is trusted: the header and payload are read only to choose the provider
 * (by `iss`) and to reject cheaply what we would reject anyway (size, charset, `alg` not allowed,
 * `crit`). Every claim used afterwards comes from jose's verified result, never from here.
 */
import { authFailure, type AuthFailure } from "./auth-error.js";

/** Default cap on a token's length in bytes (all characters are ASCII once the charset passed). */
export const DEFAULT_MAX_TOKEN_BYTES = 8 * 1024;

/** Header and payload of a token whose signature has NOT been checked. */
export interface UnverifiedJwt {
  readonly ok: true;
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

// Three base64url parts; the signature may be empty so that `alg: none` tokens get the precise
// AUTHN_ALG_NOT_ALLOWED rather than a generic shape error.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes one base64url JSON object part; undefined when it is not one. */
function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  if (part.length % 4 === 1) return undefined; // impossible length for base64
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(part, "base64url")));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks size and shape, then decodes header and payload without verifying anything.
 * Failure codes: AUTHN_MISSING (empty), AUTHN_MALFORMED (everything else).
 */
export function decodeUnverifiedJwt(token: string, maxBytes = DEFAULT_MAX_TOKEN_BYTES): UnverifiedJwt | AuthFailure {
  if (token.length === 0) return authFailure("AUTHN_MISSING", "no bearer token");
  // Size first: later steps are linear in the token, and the cap also bounds what reaches jose.
  if (token.length > maxBytes) return authFailure("AUTHN_MALFORMED", `token is larger than ${maxBytes} bytes`);
  if (!COMPACT_JWS.test(token)) return authFailure("AUTHN_MALFORMED", "token is not a compact JWS (three base64url parts)");
  const dot1 = token.indexOf(".");
  const dot2 = token.indexOf(".", dot1 + 1);
  const header = decodeJsonObject(token.slice(0, dot1));
  if (!header) return authFailure("AUTHN_MALFORMED", "token header is not a base64url JSON object");
  if (typeof header.alg !== "string") return authFailure("AUTHN_MALFORMED", "token header has no alg");
  // No OIDC issuer uses critical header extensions; refusing them up front also rules out
  // `b64: false` (unencoded payload) variants before they reach the JWS layer.
  if (Object.hasOwn(header, "crit")) return authFailure("AUTHN_MALFORMED", "token header uses crit, which is not supported");
  const payload = decodeJsonObject(token.slice(dot1 + 1, dot2));
  if (!payload) return authFailure("AUTHN_MALFORMED", "token payload is not a base64url JSON object");
  return { ok: true, header, payload };
}
