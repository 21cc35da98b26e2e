/**
 * The cheap pre-scan of a whole response body (issue #14): may masking change anything in it?
 * When it says no, the proxy relays the upstream's bytes untouched instead of decoding, parsing,
 * walking and re-serialising them for nothing.
 *
 * `couldMask(text, profile) === false` guarantees: masking `text` the way the response relay does
 * (JSON → maskJson of the parsed value; other text → maskText; event streams → never passed) masks
 * nothing. It is exact where it can be and says "maybe" otherwise:
 * - No backslash: every JSON string is then its raw bytes between two quotes, so each string
 *   (keys included) is a substring of the text, bounded by `"`, which no built-in detector's pattern
 *   can cross or treats differently from the string's start or end. Running the built-in detectors
 *   over the whole text finds every match they find in any one string; their context checks only
 *   add matches (a phone word, `aws`) and the whole text has more context, never less.
 * - Keys: every `"…"` followed by `:` is an object key (no escapes: no quote inside a string); each
 *   goes through the profile's key matcher.
 * - "Maybe" for: path rules, custom regexes (their anchors see one string, not the text), event
 *   streams, and numbers whose text differs from what maskJson re-reads (exponents, long integers
 *   past 2^53, an integer written with a fraction).
 * Cost: one pass per built-in detector over the text (each has its own fast pre-checks).
 */
import type { CompiledProfile } from "./profile.js";
import { BUILTIN_DETECTORS } from "./detectors/index.js";
import { looksLikeEventStream } from "./decode.js";

const BUILTIN_FINDS: ReadonlySet<unknown> = new Set([...BUILTIN_DETECTORS.values()].map((d) => d.find));
// JSON numbers (after `:`, `,` or `[`) that maskJson would read back as another text
// (String(Number(raw)) ≠ raw): an exponent, a long integer with a fraction, more digits than 2^53 keeps.
const RISKY_NUMBER = /[:,[]\s*-?(?:\d+(?:\.\d+)?[eE]|\d{12,}\.\d|\d{16,})/;
const KEY = /"([^"]*)"\s*:/g;

/** False only when masking `text` with `profile` certainly changes nothing (see module doc). */
export function couldMask(text: string, profile: CompiledProfile): boolean {
  if (text.includes("\\") || profile.paths !== undefined || RISKY_NUMBER.test(text) || looksLikeEventStream(text)) return true;
  if (profile.keys !== undefined) {
    KEY.lastIndex = 0;
    for (let m = KEY.exec(text); m !== null; m = KEY.exec(text)) if (profile.keys.match(m[1]!) !== undefined) return true;
  }
  for (const matcher of profile.matchers) {
    if (!BUILTIN_FINDS.has(matcher.find)) return true; // a custom regex
    if (matcher.find(text).length > 0) return true;
  }
  return false;
}
