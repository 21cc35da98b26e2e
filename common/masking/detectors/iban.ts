import type { Detector, Span } from "../types.js";
import { ibanMod97Valid } from "../checksums.js";
import { scan } from "./scan.js";
import { IBAN_START, tailBits } from "./tail.js";

/** IBAN length per country (SWIFT IBAN registry). */
export const IBAN_LENGTH: ReadonlyMap<string, number> = new Map(
  ("AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28 " +
    "EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23 IQ23 IS26 " +
    "IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 " +
    "NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 " +
    "SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30")
    .split(" ")
    .map((e) => [e.slice(0, 2), Number(e.slice(2))] as const),
);

// Country code, check digits, then the BBAN compact or in the groups of four banks print
// (spaces or dashes), in either case.
const CANDIDATE = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,8}(?:[ -]?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])/g;

/**
 * Countries whose BBAN is digits only (SWIFT IBAN registry: AT 16n, BE 12n, DE 18n, ES 20n,
 * PL 24n…): a candidate with a letter after the check digits is not one of theirs.
 */
const NUMERIC_BBAN = new Set("AE AT BA BE BI CZ DE DK EE EG ES FI FO GL HR HU IL IS LT ME NO PL PT RS SD SE SI SK TL TN XK".split(" "));
// A canonical UUID around the match: hex groups 8-4-4-4-12 are identifiers, not accounts.
const UUID_AROUND = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function insideUuid(text: string, start: number, end: number): boolean {
  if (text.charCodeAt(start - 1) !== 0x2d && text.charCodeAt(end) !== 0x2d) return false; // not next to a dash
  UUID_AROUND.lastIndex = Math.max(0, start - 36);
  for (let u = UUID_AROUND.exec(text); u !== null && u.index <= start; u = UUID_AROUND.exec(text)) {
    if (u.index + u[0].length >= end) return true;
  }
  return false;
}

function validate(m: RegExpExecArray, text: string): Span | null {
  const cc = m[0].slice(0, 2);
  // one letter case for the whole number (a lower-case word that happens to pass mod-97 is not one)
  const upper = m[0].toUpperCase();
  if (m[0] !== upper && m[0] !== m[0].toLowerCase()) return null;
  const expected = IBAN_LENGTH.get(cc.toUpperCase());
  if (expected === undefined) return null;
  const sep = /[ -]/.exec(m[0])?.[0];
  if (sep !== undefined && m[0].includes(sep === " " ? "-" : " ")) return null; // one separator style
  // Walk the candidate, keeping exactly `expected` alphanumerics: a longer match is an
  // IBAN followed by another group.
  let count = 0;
  let end = 0;
  const s = upper;
  while (end < s.length && count < expected) {
    if (s[end] !== " " && s[end] !== "-") count++;
    end++;
  }
  if (count !== expected) return null;
  if (end < s.length && s[end] !== " " && s[end] !== "-") return null; // would split a group
  const compact = s.slice(0, end).replace(/[ -]/g, "");
  if (NUMERIC_BBAN.has(cc.toUpperCase()) && /\D/.test(compact.slice(4))) return null;
  if (!ibanMod97Valid(compact)) return null;
  if (insideUuid(text, m.index, m.index + end)) return null;
  return { start: m.index, end: m.index + end };
}

/** International bank account numbers: registry length per country and mod-97 checksum. */
export const iban: Detector = {
  name: "iban",
  mayMatch: (text, shape) => text.length >= 15 && shape.ibanStart,
  // a match is at most 48 (NEAR) long and starts with two letters and the two check digits
  mayEndAfter: (text, from) => (tailBits(text, from).near & IBAN_START) !== 0,
  find: (text) => scan(CANDIDATE, text, validate),
};
