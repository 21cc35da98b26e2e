/**
 * Group membership from verified claims: read the provider's claim path, normalise the value,
 * apply the provider's group mapping, dedupe and cap.
 *
 * Only ever called on claims jose has verified. Values that cannot be represented faithfully are
 * dropped, never truncated: a truncated "admins-readonly…" could become another real group name.
 */
import type { ResolvedIdentityProvider } from "./identity-providers.js";

/** At most this many groups per identity (more are ignored: fail closed on access). */
export const MAX_GROUPS = 256;
/** Longer group values are dropped. */
export const MAX_GROUP_LENGTH = 256;

const SEPARATORS = /[\s,]+/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Tries the longest key first at each level, so a literal key with dots wins over nesting. */
function resolvePath(node: unknown, segments: readonly string[], from: number): unknown {
  if (from === segments.length) return node;
  if (!isRecord(node)) return undefined;
  for (let to = segments.length; to > from; to--) {
    const key = to - from === 1 ? segments[from]! : segments.slice(from, to).join(".");
    // Own properties only: "constructor" or "__proto__" must not reach Object.prototype.
    if (Object.hasOwn(node, key)) {
      const found = resolvePath(node[key], segments, to);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * Reads `path` in `claims`. The whole string is tried as a literal key first (namespaced claims
 * such as "https://example.com/groups"), then every split on dots, longest key first
 * ("realm_access.roles" → claims.realm_access.roles). Returns undefined when nothing matches.
 */
export function readClaimPath(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  return resolvePath(claims, path.split("."), 0);
}

/** Normalises a claim value to candidate group strings: array of strings, or a space/comma list. */
function claimValues(value: unknown): readonly unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === "string") return value.split(SEPARATORS);
  return [];
}

/**
 * Extracts the identity's groups: values at `provider.groupsClaim` (each replaced by its
 * `groupMapping` entry when there is one), plus the mapping of "@<email domain>" when the token
 * says `email_verified: true` (an unverified address proves nothing about its domain). Result is
 * deduplicated, in first-seen order, at most `MAX_GROUPS` entries of at most `MAX_GROUP_LENGTH`
 * characters; empty, non-string and control-character values are dropped.
 */
export function extractGroups(
  claims: Readonly<Record<string, unknown>>,
  provider: Pick<ResolvedIdentityProvider, "groupsClaim" | "groupMapping">,
): string[] {
  const mapping = provider.groupMapping;
  const out = new Set<string>();
  const add = (v: string): void => {
    if (out.size < MAX_GROUPS && v.length > 0 && v.length <= MAX_GROUP_LENGTH && !CONTROL.test(v)) out.add(v);
  };
  for (const raw of claimValues(readClaimPath(claims, provider.groupsClaim))) {
    if (typeof raw !== "string") continue;
    const v = raw.trim();
    // "@domain" keys are reserved for verified email domains: a group that happens to be named
    // "@example.com" must not borrow that mapping.
    add((v.startsWith("@") ? undefined : mapping.get(v)) ?? v);
  }
  if (mapping.size > 0 && claims.email_verified === true && typeof claims.email === "string") {
    const at = claims.email.lastIndexOf("@");
    const mapped = at > 0 ? mapping.get(`@${claims.email.slice(at + 1).toLowerCase()}`) : undefined;
    if (mapped !== undefined) add(mapped);
  }
  return [...out];
}
