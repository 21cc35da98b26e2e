import type { Detector, Span } from "../types.js";
import { scan } from "./scan.js";
import { digitAfter } from "./tail.js";

// AAA-GG-SSSS with one separator style (dash, space or dot). Bare 9-digit runs are left
// alone: without separators they are indistinguishable from other identifiers.
const CANDIDATE = /(?<![\w.,-])(\d{3})([ .-])(\d{2})([ .-])(\d{4})(?![\w]|[.,-]\d)/g;

function validate(m: RegExpExecArray): Span | null {
  const [, area, sep1, group, sep2, serial] = m;
  if (sep1 !== sep2) return null;
  // SSA rules: area 000, 666 and 900–999 are never issued; group 00 and serial 0000 neither.
  if (area === "000" || area === "666" || area![0] === "9") return null;
  if (group === "00" || serial === "0000") return null;
  return { start: m.index, end: m.index + m[0].length };
}

/** US social security numbers with issuance-rule checks. */
export const usSsn: Detector = {
  name: "us_ssn",
  mayMatch: (_text, shape) => shape.numberRunDigits >= 9,
  mayEndAfter: digitAfter, // ends with the serial's digits
  // 9 digits in one run of digits and separators: in or after the first one with 8+ digits
  find: (text, shape) => scan(CANDIDATE, text, validate, shape?.longNumberAt ?? 0),
};
