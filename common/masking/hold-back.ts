import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { findSpans, mergeSpans, renderSpans, worthScanning, type RuleSpan } from "./spans.js";
import { isWordLocalPattern, WORD_LOCAL_DETECTORS } from "./word-local.js";

/** Most characters held back per streamed text (the bound on added delay and memory). */
export const DEFAULT_MAX_HOLD = 256;
/** Raw text kept after release so contextual detectors ("password: ", "aws … secret") still see it. */
const CONTEXT = 128;

const WHITESPACE_END = /(?=\s)/;

/** A HoldBack's whole state as plain data (a masking worker continues the text: sse-bounded.ts). */
export interface HoldState {
  readonly context: string;
  readonly pending: string;
  /** Rule whose cut-off match is being swallowed, or -1. */
  readonly swallowRule: number;
  readonly swallowTail: string;
}

/**
 * Masks one streamed text (a chat message's content, a tool call's argument string) that
 * arrives in pieces, so a secret split across pieces is still masked.
 *
 * Each push releases the masked prefix that can no longer be part of a match and holds
 * back the shortest tail that still could: the word being written, a run of digit groups
 * ("4111 1111 …"), an open quoted value after an assignment, a private-key block without
 * its END line yet, and any detected match touching the end (it may still grow). Normal
 * prose therefore flows one word behind. The hold is bounded: past `maxHold` characters the
 * oldest part is released, and a match still growing at that point is replaced now and the
 * rest of it swallowed until its natural end (whitespace, or the PEM END line).
 */
export class HoldBack {
  private context = "";
  private pending = "";
  private swallowEnd: RegExp | null = null;
  private swallowRule = -1;
  private swallowTail = "";

  constructor(
    private readonly profile: CompiledProfile,
    private readonly session: MaskSession,
    private readonly maxHold = DEFAULT_MAX_HOLD,
    /** False: every push scans the whole text (the reference the skips are tested against). */
    private readonly fast = true,
  ) {}

  /** Adds a piece; returns the masked text that can be released now (possibly ""). */
  push(piece: string): string {
    if (this.swallowEnd !== null) {
      piece = this.swallow(piece);
      if (this.swallowEnd !== null) return "";
    }
    return piece.length === 0 ? "" : this.release(this.pending + piece, false);
  }

  /** Ends the text: returns everything still held, masked. The instance can be reused. */
  flush(): string {
    const buf = this.pending;
    const out = buf.length === 0 ? "" : this.release(buf, true);
    this.reset();
    return out;
  }

  /** Discards everything held without emitting (or counting) it. */
  reset(): void {
    this.context = "";
    this.pending = "";
    this.swallowEnd = null;
    this.swallowRule = -1;
    this.swallowTail = "";
  }

  /** The state as plain data (at most a few hundred characters: context and the bounded hold). */
  state(): HoldState {
    return { context: this.context, pending: this.pending, swallowRule: this.swallowRule, swallowTail: this.swallowTail };
  }

  /** Continues from a state taken with state() under the same profile. */
  restore(s: HoldState): void {
    this.context = s.context;
    this.pending = s.pending;
    this.swallowTail = s.swallowTail;
    this.swallowRule = s.swallowRule;
    this.swallowEnd = s.swallowRule < 0 ? null : this.endOf(s.swallowRule);
  }

  private endOf(rule: number): RegExp {
    return this.profile.rules[rule]!.streamEnd ?? WHITESPACE_END;
  }

  /** True when nothing is held (a flush would return ""). */
  get idle(): boolean {
    return this.pending.length === 0;
  }

  /** Drops text until the swallowed match ends; returns what follows it. */
  private swallow(piece: string): string {
    const hay = this.swallowTail + piece;
    const m = this.swallowEnd!.exec(hay);
    if (m === null) {
      this.swallowTail = hay.slice(-64); // the END line may straddle pieces
      return "";
    }
    this.swallowEnd = null;
    this.swallowRule = -1;
    this.swallowTail = "";
    return piece.slice(Math.max(0, m.index + m[0].length - (hay.length - piece.length)));
  }

  private release(buf: string, final: boolean): string {
    const text = this.context + buf;
    const base = this.context.length;
    let hold = final ? buf.length : Math.max(0, holdStart(text, base, buf) - base);
    // Nothing to release (the piece continues the held word): spans could only move the hold
    // point down to 0, where it is, so the scan is skipped; the state is what it would leave.
    if (hold === 0 && buf.length <= this.maxHold && this.fast) {
      this.pending = buf;
      return "";
    }
    const spans = this.fast ? spansNear(text, base, this.profile) : findSpans(text, this.profile);
    let swallowRule = -1;
    if (!final) {
      for (const s of spans) {
        const start = s.start - base;
        const end = s.end - base;
        if (end <= 0) continue;
        // a match touching the end may still grow; one crossing the hold point stays whole
        if (end >= buf.length || (start < hold && end > hold)) hold = Math.min(hold, Math.max(0, start));
      }
      if (buf.length - hold > this.maxHold) {
        hold = buf.length - this.maxHold;
        for (const s of spans) {
          const start = s.start - base;
          const end = s.end - base;
          if (start < hold && end > hold) {
            hold = Math.min(end, buf.length);
            if (end >= buf.length) swallowRule = s.rule;
          }
        }
      }
    }
    // (nothing released, nothing masked: a match crossing into the held text is counted when it leaves)
    const out = hold === 0 ? "" : renderSpans(text, spans, base, base + hold, this.profile, this.session);
    this.context = text.slice(Math.max(0, base + hold - CONTEXT), base + hold);
    this.pending = buf.slice(hold);
    if (swallowRule >= 0) {
      this.swallowEnd = this.endOf(swallowRule);
      this.swallowRule = swallowRule;
      this.context = "";
      this.pending = "";
    }
    return out;
  }
}

const PEM_HEADER = "-----BEGIN ";
const PEM_FOOTER = "-----END ";
// Words a detector could extend across a single space: digit groups of cards, phones,
// SSNs, IBANs ("DE89", "NWBK", "(312)", "515-2239", "+44(0)").
const GROUP_WORD = /^(?:[+(]{1,2}|[+(]{0,2}\d[\d()+./-]{0,18}[,;:]?|[A-Z0-9]{1,4}|[A-Z]{2}\d{2}[A-Z0-9]{0,30})$/;
const ASSIGN_QUOTE = /(?:[=:>]|=>)\s{0,8}$/;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0;
}

/** Start of the word ending at `end` (exclusive). */
function wordStart(buf: string, end: number): number {
  let i = end;
  while (i > 0 && !isSpace(buf.charCodeAt(i - 1))) i--;
  return i;
}

/** Extends a group run leftwards across single spaces while the previous word is group-like. */
function groupRunStart(buf: string, start: number): number {
  let i = start;
  while (i >= 2 && buf[i - 1] === " " && !isSpace(buf.charCodeAt(i - 2))) {
    const ws = wordStart(buf, i - 1);
    if (!GROUP_WORD.test(buf.slice(ws, i - 1))) break;
    i = ws;
  }
  return i;
}

/**
 * Where the tail that might still become (part of) a match starts, as an index into `text`
 * (released context, then the held buffer `buf` from `base`). Heuristic by design: detectors'
 * matches never contain whitespace except digit-group runs, quoted values and PEM blocks,
 * which get their own rules here.
 */
function holdStart(text: string, base: number, buf: string): number {
  const n = text.length;
  let hold = n;
  const trailingWord = Math.max(base, wordStart(text, n));
  if (trailingWord < n) {
    hold = trailingWord;
    if (GROUP_WORD.test(text.slice(trailingWord, n))) hold = groupRunStart(text, trailingWord);
  } else {
    let k = n;
    while (k > base && (text[k - 1] === " " || text[k - 1] === "\t")) k--;
    if (k < n && k > base && !isSpace(text.charCodeAt(k - 1))) {
      const ws = wordStart(text, k);
      if (GROUP_WORD.test(text.slice(ws, k))) hold = groupRunStart(text, ws);
    }
  }
  hold = Math.max(hold, base);
  // a group run is only worth holding when it has digits ("CALL ME AT" alone is not)
  if (hold < trailingWord && !/\d/.test(text.slice(hold, n))) hold = trailingWord;
  // an open quote right after an assignment: the quoted value may contain spaces
  // (only quotes and headers in the held buffer count: searched there, not in the context)
  const q = base + Math.max(buf.lastIndexOf('"'), buf.lastIndexOf("'"), buf.lastIndexOf("`"));
  if (q >= base && q < hold && ASSIGN_QUOTE.test(text.slice(Math.max(0, q - 16), q))) hold = q;
  // a private key block whose END line has not arrived
  const h = base + buf.lastIndexOf(PEM_HEADER);
  if (h >= base && h < hold && text.indexOf(PEM_FOOTER, h) < 0) hold = h;
  return hold;
}

interface Split {
  readonly local: CompiledProfile;
  readonly rest: CompiledProfile;
  /** Indexes (into rest.matchers, at most 30) of the detectors with a `mayEndAfter` gate. */
  readonly gated: readonly number[];
  /** rest without the matchers of a bit mask over `gated`, by mask (filled on first use). */
  readonly without: Map<number, CompiledProfile>;
}
const splits = new WeakMap<CompiledProfile, Split>();

/** The profile's word-local matchers (word-local.ts) and the others, as two profiles. */
function splitOf(profile: CompiledProfile): Split {
  let split = splits.get(profile);
  if (split === undefined) {
    const local = profile.matchers.filter((m) =>
      m.detector !== undefined ? WORD_LOCAL_DETECTORS.has(m.detector.name) : m.regex !== undefined && isWordLocalPattern(m.regex.source, m.regex.flags),
    );
    const rest = profile.matchers.filter((m) => !local.includes(m));
    const gated = rest.flatMap((m, i) => (m.detector?.mayEndAfter !== undefined ? [i] : [])).slice(0, 30);
    split = { local: { ...profile, matchers: local }, rest: { ...profile, matchers: rest }, gated, without: new Map() };
    splits.set(profile, split);
  }
  return split;
}

/**
 * The non-word-local matchers that may find a span ending after `from` (whitespace): those
 * whose detector's `mayEndAfter` says no are left out. Their spans all end at or before
 * `from`, so no release reads them, and a kept span they could merge with crosses the
 * window's start (spansNear then scans everything).
 */
function restNear(split: Split, text: string, from: number): CompiledProfile {
  let mask = 0;
  for (let b = 0; b < split.gated.length; b++) if (!split.rest.matchers[split.gated[b]!]!.detector!.mayEndAfter!(text, from)) mask |= 1 << b;
  if (mask === 0) return split.rest;
  let p = split.without.get(mask);
  if (p === undefined) {
    const skip = new Set(split.gated.filter((_, b) => (mask & (1 << b)) !== 0));
    p = { ...split.rest, matchers: split.rest.matchers.filter((_, i) => !skip.has(i)) };
    split.without.set(mask, p);
  }
  return p;
}

/**
 * findSpans(text) as far as a release reads it (every merged span that ends after `base`):
 * word-local detectors scan only from the word that holds `base` on, the others the whole
 * text unless their `mayEndAfter` rules out a span reaching that word. Measured hot path:
 * the context is most of the text and every push rescans it.
 */
function spansNear(text: string, base: number, profile: CompiledProfile): readonly RuleSpan[] {
  const split = splitOf(profile);
  let ws = base;
  while (ws > 0 && !isSpace(text.charCodeAt(ws - 1))) ws--;
  if (ws === 0) return findSpans(text, profile);
  const from = ws - 1; // the whitespace before the word: lookbehinds read the same character
  const rest = findSpans(text, restNear(split, text, from));
  // a span running from the context into the window could merge with a skipped one: scan all
  for (const r of rest) if (r.start < ws && r.end >= ws) return findSpans(text, profile);
  if (split.local.matchers.length === 0) return rest;
  const window = text.slice(from);
  // findSpans skips texts too short for a built-in match; a custom one can be that short
  if (!worthScanning(window, split.local)) return findSpans(text, profile);
  const local = findSpans(window, split.local);
  if (local.length === 0) return rest;
  const all: RuleSpan[] = [];
  for (const r of rest) all.push({ start: r.start, end: r.end, rule: r.rule });
  for (const l of local) all.push({ start: l.start + from, end: l.end + from, rule: l.rule });
  return mergeSpans(all);
}
