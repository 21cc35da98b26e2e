import { defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskJson } from "./json.js";

/**
 * Masks a URL query string (`?a=1&token=x`) pair by pair, like a JSON member: key rules by
 * parameter name, detectors on the value. Pairs left untouched keep their exact encoding;
 * masked values are percent-encoded. Returns "" or a string starting with "?".
 */
export function maskQuery(search: string, maskJson: (value: unknown) => unknown): string {
  if (search.length <= 1) return search;
  const pairs = search.slice(1).split("&");
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const eq = pair.indexOf("=");
    const name = decodeFormComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : decodeFormComponent(pair.slice(eq + 1));
    const masked = (maskJson({ [name]: value }) as Record<string, unknown>)[name];
    if (masked === undefined) {
      pairs[i] = encodeURIComponent("[REDACTED:query-name]"); // the name itself was a secret
    } else if (masked !== value) pairs[i] = `${eq < 0 ? pair : pair.slice(0, eq)}=${encodeURIComponent(String(masked))}`;
  }
  return `?${pairs.join("&")}`;
}

/** Decodes one `application/x-www-form-urlencoded` component ("+" is a space); malformed escapes stay raw. */
export function decodeFormComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s; // malformed escapes: match on the raw text
  }
}

/**
 * The query string as first recorded, before any policy is known (denied exchanges keep
 * it): masked with the default profile. Forwarded exchanges re-record it under their policy.
 */
export function maskQueryForRecord(search: string): string {
  if (search.length <= 1) return search;
  const session = new MaskSession();
  return maskQuery(search, (v) => maskJson(v, defaultProfile(), session));
}
