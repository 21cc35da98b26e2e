import type { Span } from "../types.js";

/** What a detector's check makes of one regex match (in `text`): the span(s) to mask, or null to drop it. */
export type Accept = (m: RegExpExecArray, text: string) => Span | readonly Span[] | null;

/**
 * Runs a global (`g`) regex over `text` and collects the spans that `accept` keeps.
 * `accept` returns the span to mask (often a capture group, or a trimmed range), several
 * spans, or null to drop the match. Shared by the detectors so each one only states its
 * pattern and checks.
 */
export function scan(re: RegExp, text: string, accept: Accept = wholeMatch, from = 0): Span[] {
  const out: Span[] = [];
  re.lastIndex = from; // lookbehinds still see the text before `from`
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++; // never loop on an empty match
      continue;
    }
    const r = accept(m, text);
    if (r === null) continue;
    if ("start" in r) out.push(r);
    else for (const s of r) out.push(s);
  }
  return out;
}

/** The span of the whole match. */
export function wholeMatch(m: RegExpExecArray): Span {
  return { start: m.index, end: m.index + m[0].length };
}
