import type { Detector, Span } from "../types.js";
import { luhnValid } from "../checksums.js";
import { scan } from "./scan.js";
import { digitAfter } from "./tail.js";

// A whole run of digits grouped by single spaces or dashes, not glued to letters, other
// digit groups or a decimal point (amounts, versions, IDs inside tokens are skipped). A
// word that merely ends in digits ("card2", "v2", "x9") is not a digit group. The
// lookbehinds make the regex start only at the beginning of a run: linear time.
const RUN = /(?<![\w.,-])(?<!(?<![A-Za-z_]\d{0,8})\d[ -])\d(?:[ -]?\d)*(?![\w]|[ .,-]\d)/g;

// Maestro ranges, 12–19 digits.
const MAESTRO = /^(?:5018|5020|5038|5893|6304|6759|676[123])/;

/**
 * Card lengths by leading digit (issuer families): UATP 15; Amex/Diners/JCB 14–16, 19; Visa
 * 13/16/19; MC/Discover/UnionPay (62, 81) 16–19; Maestro 12–19.
 */
function plausibleCard(digits: string): boolean {
  const n = digits.length;
  if (MAESTRO.test(digits)) return n >= 12 && n <= 19;
  switch (digits[0]) {
    case "1":
      return n === 15;
    case "3":
      return (n >= 14 && n <= 16) || n === 19;
    case "4":
      return n === 13 || n === 16 || n === 19;
    case "2":
    case "5":
    case "6":
      return n >= 16 && n <= 19;
    case "8":
      return digits[1] === "1" && n >= 16 && n <= 19; // UnionPay 81xx
    default:
      return false;
  }
}

/**
 * Finds cards inside a run: windows of whole groups (one compact group of 12–19 digits, or
 * groups printed the way issuers print them, one kind of separator), leftmost-longest first,
 * so a card followed or preceded by another number is still found. Windows are judged on
 * group lengths before any string is built: a megabyte of "1-1-1…" or "4111 4111 …" costs a
 * few array reads per group (measured in bench/masking.bench.ts, hostile bodies).
 */
function cardsInRun(m: RegExpExecArray): Span[] | null {
  const s = m[0];
  if (s.length < 12) return null; // fewer than 12 digits
  // the next (at most 5) digit groups, read lazily: a huge run never becomes a huge array
  const starts: number[] = [];
  const ends: number[] = [];
  let pos = 0;
  const found: Span[] = [];
  for (;;) {
    while (starts.length < 5 && pos < s.length) {
      while (pos < s.length && !isDigit(s.charCodeAt(pos))) pos++;
      if (pos >= s.length) break;
      starts.push(pos);
      while (pos < s.length && isDigit(s.charCodeAt(pos))) pos++;
      ends.push(pos);
    }
    if (starts.length === 0) break;
    const taken = cardAtFirstGroup(s, starts, ends, found, m.index);
    starts.splice(0, taken);
    ends.splice(0, taken);
  }
  return found.length > 0 ? found : null;
}

/**
 * Tries the windows that start at the first queued group, longest first; records a card and
 * returns the number of groups it used, or 1 to move on.
 */
function cardAtFirstGroup(s: string, starts: readonly number[], ends: readonly number[], found: Span[], offset: number): number {
  const first = ends[0]! - starts[0]!;
  if (first !== 4 && (first < 12 || first > 19)) return 1; // no window starts here (printed cards start with 4 digits)
  // A card has at most 19 digits in at most 5 printed groups: only those windows are tried.
  let last = 0;
  let digitCount = first;
  while (last + 1 < starts.length && digitCount + ends[last + 1]! - starts[last + 1]! <= 19) {
    last++;
    digitCount += ends[last]! - starts[last]!;
  }
  for (let j = last; j >= 0; j--) {
    if (!windowShapeOk(s, starts, ends, 0, j)) continue;
    let digits = "";
    for (let g = 0; g <= j; g++) digits += s.slice(starts[g], ends[g]);
    if (plausibleCard(digits) && luhnValid(digits) && !/^(\d)\1+$/.test(digits)) {
      found.push({ start: offset + starts[0]!, end: offset + ends[j]! });
      return j + 1;
    }
  }
  return 1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * How issuers print numbers: one compact group of 12–19 digits; or 4-4-4 / 4-4-4-(1–4) /
 * 4-4-4-4-(1–4) (13 to 19 digits), 4-6-4 (Diners), 4-6-5 (Amex), with one separator style.
 */
// (no closures here: tsx wraps every function it creates with a naming helper, measured at
// a quarter of this detector's time on hostile runs)
function windowShapeOk(s: string, starts: readonly number[], ends: readonly number[], i: number, j: number): boolean {
  const count = j - i + 1;
  const first = ends[i]! - starts[i]!;
  if (count === 1) return first >= 12 && first <= 19;
  if (first !== 4 || count > 5) return false;
  const sep = s.charCodeAt(ends[i]!);
  for (let g = i + 1; g < j; g++) if (s.charCodeAt(ends[g]!) !== sep) return false;
  const second = ends[i + 1]! - starts[i + 1]!;
  const final = ends[j]! - starts[j]!;
  if (count === 3 && second === 6) return final === 4 || final === 5;
  if (count < 3) return false;
  for (let g = i + 1; g < j; g++) if (ends[g]! - starts[g]! !== 4) return false;
  return count === 3 ? final === 4 : final >= 1 && final <= 4;
}

/** Payment card numbers (PAN): issuer-plausible length and a valid Luhn check digit. */
export const creditCard: Detector = {
  name: "credit_card",
  partialSafe: true,
  mayMatch: (_text, shape) => shape.numberRunDigits >= 12,
  mayEndAfter: digitAfter, // a card ends with a digit
  // a card (12+ digits) lies in one run of digits and separators, so in or after the first one with 8+ digits
  find: (text, shape) => scan(RUN, text, cardsInRun, shape?.longNumberAt ?? 0),
};
