import type { Detector, Span } from "../types.js";
import { scan } from "./scan.js";
import { digitAfter } from "./tail.js";

// A run of digit groups with single separators and parenthesised area codes, optionally a
// leading "+" and an extension. Not glued to words, operators or other numbers (formulas,
// account ids, URLs, versions); the lookbehinds also make scanning linear.
const CANDIDATE =
  /(?<![\w+*/=#@$%&^~|\\])(?<![\w][.,-])(?<!\d[ \t])(?:\+|\(\+?)?\d[\d ().-]{5,30}\d(?:\s?(?:ext\.?|x)\s?\d{1,6})?(?![\w]|[.,-]\d)/g;
const EXTENSION = /\s?(?:ext\.?|x)\s?\d{1,6}$/;
// Words that make a bare digit run (no separators) a phone number, as presidio's context.
const CONTEXT = /(?:phone|tel|mobile|cell|call|fax|number|contact|whatsapp|sms)\b[^\n]{0,24}$/i;

interface Parsed {
  groups: string[];
  inParens: boolean[];
  seps: string[]; // separator before each group after the first ("" when adjacent to a paren)
  parens: number;
  plus: boolean;
}

/** Splits a candidate into digit groups; null if the punctuation is not phone-like. */
function parse(s: string): Parsed | null {
  const groups: string[] = [];
  const inParens: boolean[] = [];
  const seps: string[] = [];
  let parens = 0;
  let plus = false;
  let i = 0;
  let sep = "";
  while (i < s.length) {
    const c = s[i]!;
    if (c === "+") {
      if (i !== 0 && !(i === 1 && s[0] === "(")) return null;
      plus = true;
      i++;
    } else if (c === "(") {
      const close = s.indexOf(")", i);
      const inner = close < 0 ? "" : s.slice(i + 1, close).replace(/^\+/, "");
      if (!/^\d{1,4}$/.test(inner) || ++parens > 2) return null;
      if (s[i + 1] === "+") plus = true;
      if (groups.length > 0) seps.push(sep);
      groups.push(inner);
      inParens.push(true);
      sep = "";
      i = close + 1;
      if (s[i] === " " || s[i] === "-") sep = s[i++]!; // one separator after ")"
    } else if (c >= "0" && c <= "9") {
      let j = i;
      while (j < s.length && s[j]! >= "0" && s[j]! <= "9") j++;
      if (groups.length > 0) {
        if (sep === "" && s[i - 1] !== ")") return null;
        seps.push(sep);
      }
      groups.push(s.slice(i, j));
      inParens.push(false);
      sep = "";
      i = j;
    } else if (c === " " || c === "-" || c === ".") {
      if (sep !== "" || i + 1 >= s.length) return null; // doubled or trailing separator
      sep = c;
      i++;
    } else return null;
  }
  return { groups, inParens, seps, parens, plus };
}

function looksLikeDate(g: string[], seps: string[]): boolean {
  if (g.length < 3 || seps[0] === " " || seps[0] !== seps[1]) return false;
  const [a, b, c] = [g[0]!, g[1]!, g[2]!];
  if (c.length === 4 && isDay(a) && isDay(b) && (isMonth(a) || isMonth(b))) return true; // dd-mm-yyyy, mm-dd-yyyy
  return a.length === 4 && isMonth(b) && isDay(c); // yyyy-mm-dd
}

function isDay(x: string): boolean {
  return x.length <= 2 && Number(x) >= 1 && Number(x) <= 31;
}

function isMonth(x: string): boolean {
  return x.length <= 2 && Number(x) >= 1 && Number(x) <= 12;
}

/** True for a 10-digit North American number (area code not starting with 0 or 1), optionally with a leading "1". */
function nanp(digits: string): boolean {
  const d = digits.length === 11 && digits[0] === "1" ? digits.slice(1) : digits;
  return d.length === 10 && /^[2-9]\d\d\d{7}$/.test(d);
}

function valid(core: string, text: string, at: number): boolean {
  const p = parse(core);
  if (p === null) return false;
  const { groups, seps, plus } = p;
  const digits = groups.join("");
  if (digits.length < 8 || digits.length > (plus ? 15 : 13) || /^(\d)\1+$/.test(digits)) return false;
  if (groups.length === 1) {
    // A bare run is a phone number only with the "+" prefix, or NANP-shaped next to a phone word.
    return plus || ((digits.length === 10 || digits.length === 11) && nanp(digits) && CONTEXT.test(text.slice(Math.max(0, at - 40), at)));
  }
  if (seps.includes(".")) {
    // Dotted: 3.3.4-like groups only; never decimals, versions or dotted quads.
    if (seps.some((s) => s !== ".") || p.parens > 0 || groups.length < 3) return false;
    if (groups.some((g) => g.length > 4)) return false;
    if (groups.length === 4 && groups.every((g) => g.length <= 3)) return false;
    // a dotted quad whose last octet has a digit too many ("10.20.30.4000") is an IP or a version
    if (groups.length === 4 && groups.slice(0, 3).every((g) => g.length <= 3 && Number(g) <= 255)) return false;
  }
  if (looksLikeDate(groups, seps)) return false;
  // single digits between separators are ISBNs and part numbers ("978-3-16-148410-0"); a
  // parenthesised trunk prefix "(0)" and the first group after a country code ("+33 6 …") are fine
  if (groups.some((g, k) => k > (plus ? 1 : 0) && g.length < 2 && !p.inParens[k])) return false;
  const lens = groups.map((g) => g.length).join(",");
  if (!plus && p.parens === 0) {
    if (lens === "3,2,4") return false; // SSN layout: the us_ssn detector decides
    if (lens === "5,4") return false; // US ZIP+4
    if ((lens === "3,3,4" || lens === "1,3,3,4") && !nanp(digits)) return false; // NANP layout, impossible area code
    if (groups.length >= 3 && groups.slice(1).every((g) => g.length === 3) && groups[0]!.length <= 3) return false; // 1 000 000 000
    if (groups.length >= 3 && groups.every((g) => g.length === 4)) return false; // card / account blocks
    // two groups without "+": a national number starts with its trunk prefix "0" ("07700 900123",
    // "030 12345678"), else it needs a phone word nearby ("2024-000123" is a reference)
    if (groups.length === 2 && groups[0]![0] !== "0" && !CONTEXT.test(text.slice(Math.max(0, at - 40), at))) return false;
  }
  return true;
}

/**
 * The candidate is judged whole: trimming groups off a longer digit run ("1009 0000 0002
 * 3569", an account or IBAN body) would find a phone-shaped piece in any long number.
 */
function validate(m: RegExpExecArray, text: string): Span | null {
  const ext = EXTENSION.exec(m[0]);
  const core = ext ? m[0].slice(0, ext.index) : m[0];
  return valid(core, text, m.index) ? { start: m.index, end: m.index + m[0].length } : null;
}

/** Phone numbers: international (+CC …), North American and common national layouts. */
export const phone: Detector = {
  name: "phone",
  partialSafe: true,
  mayMatch: (_text, shape) => shape.numberRunDigits >= 8,
  mayEndAfter: digitAfter, // a number or its extension ends with a digit
  find: (text) => scan(CANDIDATE, text, validate),
};
