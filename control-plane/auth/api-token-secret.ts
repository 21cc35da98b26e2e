/**
 * The API token format: `agt_` + 43 base64url characters (32 random bytes). Only the
 * sha256 of the whole token is stored; its first 12 characters (`agt_` + 8) are the
 * non-secret prefix shown in listings and used to find the row.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Every API token starts with this (lets scanners and the authenticator recognise one). */
export const API_TOKEN_MARK = "agt_";
/** Length of the stored, displayed prefix. */
export const API_TOKEN_PREFIX_LENGTH = 12;

const SHAPE = /^agt_[A-Za-z0-9_-]{43}$/;

/** A new token: the secret (shown once), its lookup prefix and the hash to store. */
export interface NewApiTokenSecret {
  readonly token: string;
  readonly prefix: string;
  readonly secretHash: string;
}

/** Makes a new random token. */
export function generateApiTokenSecret(): NewApiTokenSecret {
  const token = API_TOKEN_MARK + randomBytes(32).toString("base64url");
  return { token, prefix: token.slice(0, API_TOKEN_PREFIX_LENGTH), secretHash: tokenDigest(token) };
}

/** True when `token` has the exact shape of an API token (checked before any lookup). */
export function isApiTokenShape(token: string): boolean {
  return SHAPE.test(token);
}

/** Hex sha256 of a token: what is stored (a fast hash is enough for 256 random bits), and what the bootstrap token is compared by. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Compares two hex sha256 values in constant time (false for anything malformed). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}
