import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { findSpans, renderSpans, worthScanning, type SpanFinder } from "./spans.js";

/** Short strings repeat across a body (keys, roles, ids): remember those known clean. */
const CLEAN_MAX_LENGTH = 64;
const CLEAN_MAX_ENTRIES = 8192;
const cleanByProfile = new WeakMap<CompiledProfile, Set<string>>();
// the profile asked last and its set: a body's strings all come with the same profile
let lastProfile: CompiledProfile | undefined;
let lastClean: Set<string> | undefined;

function cleanOf(profile: CompiledProfile): Set<string> {
  if (profile === lastProfile) return lastClean!;
  let clean = cleanByProfile.get(profile);
  if (clean === undefined) cleanByProfile.set(profile, (clean = new Set()));
  lastProfile = profile;
  lastClean = clean;
  return clean;
}

/**
 * Masks free text with the profile's detectors and custom regexes. Pure apart from session
 * counts. `find` defaults to running the matchers; the sliced body masker passes spans it
 * computed beforehand (same spans, so the same output).
 */
export function maskText(text: string, profile: CompiledProfile, session: MaskSession, find: SpanFinder = findSpans): string {
  if (!worthScanning(text, profile)) return text; // too short for any match ("id", "ai"), or no matchers
  let clean: Set<string> | undefined;
  if (text.length <= CLEAN_MAX_LENGTH) {
    clean = cleanOf(profile);
    if (clean.has(text)) return text;
  }
  const spans = find(text, profile);
  if (spans.length > 0) return renderSpans(text, spans, 0, text.length, profile, session);
  if (clean !== undefined && find === findSpans) {
    // Only matcher results are cached (they depend on the profile alone, not the session);
    // a dry run's finder (body-sliced.ts) finds nothing by design and must not fill the cache.
    if (clean.size >= CLEAN_MAX_ENTRIES) clean.clear();
    clean.add(text);
  }
  return text;
}
