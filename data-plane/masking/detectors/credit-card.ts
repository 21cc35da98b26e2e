import type { Detector, Span } from "../types.js";
import { luhnValid } from "../checksums.js";
import { scan } from "./scan.js";
import { hasDigits } from "./text-shape.js";

// A whole run of digits grouped by single spaces or dashes, not glued to letters, other
// digit groups or a decimal point (amounts, versions, IDs inside tokens are skipped). A
// word that merely ends in digits ("card2", "v2", "x9") is not a digit group. The
// lookbehinds make the regex start only at the beginning of a run: linear time.
const RUN = /(?<![\w.,-])(?<!(?<![A-Za-z_]\d{0,8})\d[ -])\d(?:[ -]?\d)*(?![\w]|[ .,-]\d)/g;
const GROUP = /\d+/g;

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
 * Finds cards inside a run: windows of whole groups (one compact group of 13–19 digits, or
 * printed groups of 3–6 digits with one kind of separator), leftmost-longest first, so a
 * card followed or preceded by another number is still found.
 */
function cardsInRun(m: RegExpExecArray): Span[] | null {
  const s = m[0];
  const groups: Array<{ start: number; end: number }> = [];
  GROUP.lastIndex = 0;
  for (let g = GROUP.exec(s); g !== null; g = GROUP.exec(s)) groups.push({ start: g.index, end: g.index + g[0].length });
  const found: Span[] = [];
  let i = 0;
  outer: while (i < groups.length) {
    // A card has at most 19 digits: only windows within that many digits are tried, which
    // keeps a huge run of small numbers linear.
    let last = i;
    let digitCount = groups[i]!.end - groups[i]!.start;
    while (last + 1 < groups.length && digitCount + groups[last + 1]!.end - groups[last + 1]!.start <= 19) {
      last++;
      digitCount += groups[last]!.end - groups[last]!.start;
    }
    for (let j = last; j >= i; j--) {
      const from = groups[i]!.start;
      const to = groups[j]!.end;
      const window = s.slice(from, to);
      if (!windowShapeOk(window, j - i + 1)) continue;
      const digits = window.replace(/\D/g, "");
      if (plausibleCard(digits) && !/^(\d)\1+$/.test(digits) && luhnValid(digits)) {
        found.push({ start: m.index + from, end: m.index + to });
        i = j + 1;
        continue outer;
      }
    }
    i++;
  }
  return found.length > 0 ? found : null;
}

// How issuers print numbers: 4-4-4-4 (and 4-4-4-1 / 4-4-4-4-3 for 13 / 19 digits),
// 4-6-5 (Amex), 4-6-4 (Diners); one separator style.
const PRINTED = /^\d{4}(?:(?<s>[ -])\d{4}(?:\k<s>\d{4}){1,2}(?:\k<s>\d{1,4})?|(?<t>[ -])\d{6}\k<t>\d{4,5})$/;

function windowShapeOk(window: string, groupCount: number): boolean {
  if (groupCount === 1) return window.length >= 12 && window.length <= 19;
  return PRINTED.test(window);
}

/** Payment card numbers (PAN): issuer-plausible length and a valid Luhn check digit. */
export const creditCard: Detector = {
  name: "credit_card",
  partialSafe: true,
  find: (text) => (hasDigits(text, 13) ? scan(RUN, text, cardsInRun) : []),
};
