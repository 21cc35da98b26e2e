import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { maskJson } from "./json.js";
import { isMaskToken, replacement } from "./replacement.js";
import { maskText } from "./text.js";
import { decodeBody, looksLikeEventStream, mediaTypeOf, parseJsonBody } from "./decode.js";
import { SseMasker } from "./sse.js";
import { decodeFormComponent } from "./query.js";

/** Outcome of masking a request or response body. */
export type MaskBodyResult = { ok: true; body: string; transcoded?: boolean } | { ok: false; code: "invalid_json" | "uninspectable"; reason?: string };

/** What to do with a body declared as JSON that does not parse. */
export interface MaskBodyOptions {
  /** "reject" (default): the caller answers 422; "text": mask it as plain text. */
  onInvalidJson?: "reject" | "text";
}

const JSON_TYPE = /^(?:application\/(?:[\w.-]+\+)?json|text\/json)$/;
const FORM_TYPE = "application/x-www-form-urlencoded";

/**
 * Masks a body by what it is, not by its label: decoded by BOM / charset (strict; a body
 * that is not text is refused as uninspectable), then JSON — under any label — parsed and
 * masked structurally (re-serialised compactly, as UTF-8), form bodies field by field, an
 * event stream event by event, anything else as text. A body labelled JSON that does not
 * parse is refused (or masked as text when asked).
 */
export function maskBody(
  body: Uint8Array | string,
  contentType: string | undefined,
  profile: CompiledProfile,
  session: MaskSession,
  opts: MaskBodyOptions = {},
): MaskBodyResult {
  const decoded = decodeBody(body, contentType);
  if (!decoded.ok) return { ok: false, code: "uninspectable", reason: decoded.reason };
  const { text, transcoded } = decoded;
  const done = (out: string): MaskBodyResult => (transcoded ? { ok: true, body: out, transcoded } : { ok: true, body: out });
  const mediaType = mediaTypeOf(contentType);
  if (text.trim() === "") return done(text);
  const json = parseJsonBody(text);
  if (json !== undefined) return done(JSON.stringify(maskJson(json.value, profile, session)));
  if (JSON_TYPE.test(mediaType)) {
    if (opts.onInvalidJson === "text") return done(maskText(text, profile, session));
    return { ok: false, code: "invalid_json" };
  }
  if (mediaType === FORM_TYPE) return done(maskForm(text, profile, session));
  if (mediaType === "text/event-stream" || looksLikeEventStream(text)) {
    const sse = new SseMasker(profile, session);
    return done(sse.push(text) + sse.end());
  }
  return done(maskText(text, profile, session));
}

/** `a=1&password=x`: key rules by field name, text matchers on values; untouched pairs keep their encoding. */
function maskForm(text: string, profile: CompiledProfile, session: MaskSession): string {
  const pairs = text.split("&");
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const value = decodeFormComponent(pair.slice(eq + 1));
    if (value === "") continue;
    const rule = profile.keys?.match(decodeFormComponent(pair.slice(0, eq)));
    const masked =
      rule !== undefined && !isMaskToken(value) ? replacement(value, profile.rules[rule]!, session) : maskText(value, profile, session);
    if (masked !== value) pairs[i] = `${pair.slice(0, eq)}=${encodeURIComponent(masked)}`;
  }
  return pairs.join("&");
}
