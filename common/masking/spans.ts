import type { CompiledProfile, TextMatcher } from "./profile.js";
import type { Span } from "./types.js";
import type { MaskSession } from "./session.js";
import { replacement } from "./replacement.js";
import { shapeOf, type TextShape } from "./detectors/text-shape.js";

/** A span to mask and the rule (profile index) that names it. */
export interface RuleSpan {
  start: number;
  end: number;
  rule: number;
}

/** What finds the spans of a text under a profile (findSpans, or a memo of its results). */
export type SpanFinder = (text: string, profile: CompiledProfile) => readonly RuleSpan[];

const NONE: readonly RuleSpan[] = Object.freeze([]);
/** No built-in or sensible custom match is shorter than this. */
const MIN_TEXT = 4;

/**
 * Runs the text matchers of the profile over `text` and merges overlapping spans; a merged
 * span is named by its earliest rule (profile order is priority order). A detector whose
 * necessary condition (`mayMatch`, on the text's shape: one shared pass) fails is skipped:
 * the same spans as findAllSpans, which runs every matcher.
 */
export function findSpans(text: string, profile: CompiledProfile): readonly RuleSpan[] {
  if (!worthScanning(text, profile)) return NONE;
  let all: RuleSpan[] | undefined;
  let shape: TextShape | undefined;
  for (const m of profile.matchers) {
    if (m.mayMatch !== undefined && !m.mayMatch(text, (shape ??= shapeOf(text)))) continue;
    all = collect(all, m, m.find(text, shape));
  }
  return mergeSpans(all);
}

/** findSpans without skipping any matcher: the reference the skips are tested against. */
export function findAllSpans(text: string, profile: CompiledProfile): readonly RuleSpan[] {
  if (!worthScanning(text, profile)) return NONE;
  let all: RuleSpan[] | undefined;
  for (const m of profile.matchers) all = collect(all, m, m.find(text));
  return mergeSpans(all);
}

/** False when no matcher could find anything in `text` (too short, or no matchers). */
export function worthScanning(text: string, profile: CompiledProfile): boolean {
  return text.length >= MIN_TEXT && profile.matchers.length > 0;
}

/** Adds one matcher's spans (named by its rule) to the list. */
export function collect(all: RuleSpan[] | undefined, m: TextMatcher, found: readonly Span[]): RuleSpan[] | undefined {
  if (found.length === 0) return all;
  all ??= [];
  for (const s of found) all.push({ start: s.start, end: s.end, rule: m.rule });
  return all;
}

/** Sorts and merges overlapping spans; a merged span is named by its earliest rule. */
export function mergeSpans(all: RuleSpan[] | undefined): readonly RuleSpan[] {
  if (all === undefined) return NONE;
  all.sort((a, b) => a.start - b.start || a.rule - b.rule);
  const merged: RuleSpan[] = [all[0]!];
  for (let i = 1; i < all.length; i++) {
    const s = all[i]!;
    const cur = merged[merged.length - 1]!;
    if (s.start < cur.end) {
      if (s.end > cur.end) cur.end = s.end;
      if (s.rule < cur.rule) cur.rule = s.rule;
    } else merged.push(s);
  }
  return merged;
}

/**
 * Renders `text[from, to)` with every span replaced (spans are clipped to the range).
 * Returns the slice unchanged when no span touches it.
 */
export function renderSpans(
  text: string,
  spans: readonly RuleSpan[],
  from: number,
  to: number,
  profile: CompiledProfile,
  session: MaskSession,
): string {
  let out = "";
  let pos = from;
  for (const s of spans) {
    if (s.end <= from || s.start >= to) continue;
    const start = Math.max(s.start, from);
    const end = Math.min(s.end, to);
    out += text.slice(pos, start) + replacement(text.slice(start, end), profile.rules[s.rule]!, session);
    pos = end;
  }
  return pos === from ? text.slice(from, to) : out + text.slice(pos, to);
}
