import type { TextShape } from "./detectors/text-shape.js";

/** A half-open range [start, end) of UTF-16 code units inside a string. */
export interface Span {
  start: number;
  end: number;
}

/**
 * A built-in value detector: finds sensitive substrings in free text.
 * `find` must be pure, run in time linear in `text.length`, and return spans sorted by
 * start (they may overlap; the engine merges them).
 */
export interface Detector {
  /** Stable name used in profiles (`kind: "detector", match: name`) and as default label. */
  readonly name: string;
  /** True when revealing the last 4 digits is acceptable (payment cards, phone numbers). */
  readonly partialSafe?: boolean;
  /**
   * For streamed text: what ends a match that was cut off by the hold-back bound and is
   * being swallowed (default: the next whitespace). PEM blocks end at their END line.
   */
  readonly streamEnd?: RegExp;
  /**
   * The full scan (without any pre-check of its own): every span the detector masks in `text`.
   * With the text's shape (findSpans passes it once computed) a detector may start its scan
   * where its first possible match starts (`longNumberAt`): the same spans, less text.
   */
  find(text: string, shape?: TextShape): Span[];
  /**
   * A necessary condition for `find` to find anything, judged on the text's shape (one
   * shared charCode pass, text-shape.ts) or a native substring search: when false, `find`
   * would return no span, so the engine skips it. Must never be false where `find` finds
   * something (property-tested in shape-gates.test.ts).
   */
  mayMatch?(text: string, shape: TextShape): boolean;
  /**
   * For streamed text (hold-back.ts), where `text[from]` is whitespace: false when no span
   * `find(text)` returns ends after `from`, judged on a few characters around `from` (the held
   * window) instead of the whole text. Must never be false where such a span exists
   * (property-tested in hold-back-fast.test.ts).
   */
  mayEndAfter?(text: string, from: number): boolean;
}

/** Replacement styles a rule can ask for. */
export type MaskStyle = "redact" | "partial" | "pseudonym";
