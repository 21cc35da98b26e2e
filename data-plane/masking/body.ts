import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { maskJson } from "./json.js";
import { isMaskToken, replacement } from "./replacement.js";
import { maskText } from "./text.js";

/** Outcome of masking a request or response body. */
export type MaskBodyResult = { ok: true; body: string } | { ok: false; code: "invalid_json" };

/** What to do with a body declared as JSON that does not parse. */
export interface MaskBodyOptions {
  /** "reject" (default): the caller answers 422; "text": mask it as plain text. */
  onInvalidJson?: "reject" | "text";
}

const JSON_TYPE = /^(?:application\/(?:[\w.-]+\+)?json|text\/json)$/;
const FORM_TYPE = "application/x-www-form-urlencoded";
const decoder = new TextDecoder("utf-8");

/**
 * Masks a body by content type: JSON is parsed and masked structurally (re-serialised
 * compactly), form bodies field by field, anything else as text.
 */
export function maskBody(
  body: Uint8Array | string,
  contentType: string | undefined,
  profile: CompiledProfile,
  session: MaskSession,
  opts: MaskBodyOptions = {},
): MaskBodyResult {
  const text = typeof body === "string" ? body : decoder.decode(body);
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (JSON_TYPE.test(mediaType)) {
    if (text.trim() === "") return { ok: true, body: text };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      if (opts.onInvalidJson === "text") return { ok: true, body: maskText(text, profile, session) };
      return { ok: false, code: "invalid_json" };
    }
    return { ok: true, body: JSON.stringify(maskJson(parsed, profile, session)) };
  }
  if (mediaType === FORM_TYPE) return { ok: true, body: maskForm(text, profile, session) };
  return { ok: true, body: maskText(text, profile, session) };
}

/** `a=1&password=x`: key rules by field name, text matchers on values; untouched pairs keep their encoding. */
function maskForm(text: string, profile: CompiledProfile, session: MaskSession): string {
  const pairs = text.split("&");
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const value = formDecode(pair.slice(eq + 1));
    if (value === "") continue;
    const rule = profile.keys?.match(formDecode(pair.slice(0, eq)));
    const masked =
      rule !== undefined && !isMaskToken(value) ? replacement(value, profile.rules[rule]!, session) : maskText(value, profile, session);
    if (masked !== value) pairs[i] = `${pair.slice(0, eq)}=${encodeURIComponent(masked)}`;
  }
  return pairs.join("&");
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s; // malformed escapes: match on the raw text
  }
}
