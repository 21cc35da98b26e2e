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
  find(text: string): Span[];
}

/** Replacement styles a rule can ask for. */
export type MaskStyle = "redact" | "partial" | "pseudonym";
