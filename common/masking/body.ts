import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { maskJsonInPlace } from "./json.js";
import { isMaskToken, replacement } from "./replacement.js";
import { maskText } from "./text.js";
import { decodeBody, looksLikeEventStream, mediaTypeOf, parseJsonBody } from "./decode.js";
import { SseMasker } from "./sse.js";
import { decodeFormComponent } from "./query.js";
import { findSpans, type SpanFinder } from "./spans.js";

/** Outcome of masking a request or response body. */
export type MaskBodyResult = { ok: true; body: string; transcoded?: boolean } | { ok: false; code: "invalid_json" | "uninspectable"; reason?: string };

/** What to do with a body declared as JSON that does not parse. */
export interface MaskBodyOptions {
  /** "reject" (default): the caller answers 422; "text": mask it as plain text. */
  onInvalidJson?: "reject" | "text";
  /**
   * The JSON text a re-serialised body was parsed from (a filtered list): integers beyond
   * 2^53 were rounded by that parse, so their exact digits are read from it (json.ts maskNumber).
   * Default: the body's own text.
   */
  numberSource?: string;
}

const JSON_TYPE = /^(?:application\/(?:[\w.-]+\+)?json|text\/json)$/;
const FORM_TYPE = "application/x-www-form-urlencoded";

/** What a body is, decided by its bytes (see maskBody): the engine's one decision, shared by the sync and sliced maskers. */
export type BodyKind =
  | { kind: "refused"; result: MaskBodyResult & { ok: false } }
  | { kind: "json"; text: string; transcoded: boolean; value: unknown }
  | { kind: "text" | "form" | "event-stream" | "empty"; text: string; transcoded: boolean };

/**
 * Decodes by BOM / charset (strict; a body that is not text is refused as uninspectable),
 * then: JSON under any label, an invalid body labelled JSON (refused, or text when asked),
 * form fields, an event stream, or text.
 */
export function classifyBody(body: Uint8Array | string, contentType: string | undefined, opts: MaskBodyOptions = {}): BodyKind {
  const decoded = decodeBody(body, contentType);
  if (!decoded.ok) return { kind: "refused", result: { ok: false, code: "uninspectable", reason: decoded.reason } };
  const { text, transcoded } = decoded;
  const mediaType = mediaTypeOf(contentType);
  if (text.trim() === "") return { kind: "empty", text, transcoded };
  const json = parseJsonBody(text);
  if (json !== undefined) return { kind: "json", text, transcoded, value: json.value };
  if (JSON_TYPE.test(mediaType) && opts.onInvalidJson !== "text") return { kind: "refused", result: { ok: false, code: "invalid_json" } };
  if (JSON_TYPE.test(mediaType)) return { kind: "text", text, transcoded };
  if (mediaType === FORM_TYPE) return { kind: "form", text, transcoded };
  if (mediaType === "text/event-stream" || looksLikeEventStream(text)) return { kind: "event-stream", text, transcoded };
  return { kind: "text", text, transcoded };
}

/** The result of masking a classified body into `out`. */
export function bodyResult(kind: BodyKind & { transcoded: boolean }, out: string): MaskBodyResult {
  return kind.transcoded ? { ok: true, body: out, transcoded: true } : { ok: true, body: out };
}

/**
 * Masks a body by what it is, not by its label: decoded by BOM / charset (strict; a body
 * that is not text is refused as uninspectable), then JSON — under any label — parsed and
 * masked structurally (re-serialised compactly, as UTF-8), form bodies field by field, an
 * event stream event by event, anything else as text. A body labelled JSON that does not
 * parse is refused (or masked as text when asked). Synchronous: for large bodies on the
 * event loop use maskBodySliced (body-sliced.ts), which returns the same result.
 */
export function maskBody(
  body: Uint8Array | string,
  contentType: string | undefined,
  profile: CompiledProfile,
  session: MaskSession,
  opts: MaskBodyOptions = {},
): MaskBodyResult {
  const kind = classifyBody(body, contentType, opts);
  return kind.kind === "refused" ? kind.result : bodyResult(kind, maskClassified(kind, profile, session, opts.numberSource));
}

/** A body with nothing to mask: the caller may relay its original bytes. */
export interface Untouched {
  ok: true;
  untouched: true;
}

/**
 * maskBody, but `untouched` when masking changed nothing (no transcoding, and the masked
 * text equals the body's text — for JSON, its compact serialisation), so the caller can relay
 * the original bytes. Checked on the masking itself, not guessed by a pre-scan: for JSON the
 * in-place walk reports whether it replaced anything, so a clean body is not serialised at
 * all (a whole-body pre-scan, tried before, cost more per byte on clean LangGraph answers
 * than masking them: README "Numbers").
 */
export function maskBodyKeepClean(
  body: Uint8Array | string,
  contentType: string | undefined,
  profile: CompiledProfile,
  session: MaskSession,
  opts: MaskBodyOptions = {},
): MaskBodyResult | Untouched {
  const kind = classifyBody(body, contentType, opts);
  if (kind.kind === "refused") return kind.result;
  if (kind.kind === "json") {
    // the parsed value is this call's own: masked in place, serialised only when something changed
    const masked = maskJsonInPlace(kind.value, profile, session, opts.numberSource ?? kind.text);
    // relaying the original bytes is only right when the parsed value is all of them: a
    // repeated key ({"a":"x@y.io","a":"ok"}) is dropped by JSON.parse, so never seen by the
    // masker; then the body leaves re-serialised, without it
    if (!masked.changed && !kind.transcoded && keyTokens(kind.text) === masked.members) return { ok: true, untouched: true };
    return bodyResult(kind, JSON.stringify(masked.value));
  }
  const out = maskClassified(kind, profile, session, opts.numberSource);
  if (!kind.transcoded && out === kind.text) return { ok: true, untouched: true };
  return bodyResult(kind, out);
}

// a key's closing quote and its colon; inside strings a quote is escaped (\"), which may only add matches
const KEY_TOKEN = /"[ \t\n\r]*:/g;

/**
 * At least as many as the keys written in the JSON text (equal when no string holds `\":`):
 * when it equals the members of the parsed value, no key was repeated. One native scan
 * (~0.7 ms per MB, JSON.parse ~2.5).
 */
export function keyTokens(text: string): number {
  KEY_TOKEN.lastIndex = 0;
  let n = 0;
  while (KEY_TOKEN.test(text)) n++;
  return n;
}

function maskClassified(kind: Exclude<BodyKind, { kind: "refused" }>, profile: CompiledProfile, session: MaskSession, numberSource?: string): string {
  switch (kind.kind) {
    case "json":
      return JSON.stringify(maskJsonInPlace(kind.value, profile, session, numberSource ?? kind.text).value); // the parsed value is this call's own
    case "form":
      return maskForm(kind.text, profile, session);
    case "event-stream": {
      const sse = new SseMasker(profile, session);
      return sse.push(kind.text) + sse.end();
    }
    case "text":
      return maskText(kind.text, profile, session);
    default:
      return kind.text; // empty
  }
}

/** `a=1&password=x`: key rules by field name, text matchers on values; untouched pairs keep their encoding. */
export function maskForm(text: string, profile: CompiledProfile, session: MaskSession, find: SpanFinder = findSpans): string {
  const pairs = text.split("&");
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const value = decodeFormComponent(pair.slice(eq + 1));
    if (value === "") continue;
    const rule = profile.keys?.match(decodeFormComponent(pair.slice(0, eq)));
    const masked =
      rule !== undefined && !isMaskToken(value) ? replacement(value, profile.rules[rule]!, session) : maskText(value, profile, session, find);
    if (masked !== value) pairs[i] = `${pair.slice(0, eq)}=${encodeURIComponent(masked)}`;
  }
  return pairs.join("&");
}
