/**
 * The exact digits of JSON integers that JSON.parse rounded (beyond 2^53). A card number sent
 * as a JSON number of 19 digits reaches the masker rounded, so the detectors would judge
 * digits that are not the ones the body carries; this reads the literals from the JSON text.
 */

/** An integer JSON.parse may have rounded: beyond 2^53, below 1e21 (where String() turns to exponents). */
export function isRounded(v: number): boolean {
  const a = Math.abs(v);
  return a > Number.MAX_SAFE_INTEGER && a < 1e21 && Number.isInteger(v);
}

// a string literal (skipped whole: unrolled, no nested ambiguity) or a number literal
const TOKEN = /"[^"\\]*(?:\\[\s\S][^"\\]*)*"|-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?/g;

/**
 * Every number literal of `text` whose value is a rounded integer, by that value (what
 * JSON.parse made of it: Number() of the same literal rounds the same way), with the exact
 * digits it was written as (no sign: detectors judge the number's digits). One linear native scan; only called when a rounded value was met.
 */
export function exactIntegers(text: string): Map<number, string[]> {
  const found = new Map<number, string[]>();
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m !== null; m = TOKEN.exec(text)) {
    if (m[1] === undefined) continue; // a string
    const value = Number(m[0]);
    if (!isRounded(value)) continue;
    const digits = integerDigits(m[1], m[2] ?? "", Number(m[3] ?? "0"));
    if (digits === undefined) continue;
    const list = found.get(value);
    if (list === undefined) found.set(value, [digits]);
    else if (!list.includes(digits)) list.push(digits);
  }
  return found;
}

/** The decimal digits of int.frac × 10^exp when that is an integer (else undefined). */
function integerDigits(int: string, frac: string, exp: number): string | undefined {
  let digits = int + frac;
  let shift = exp - frac.length;
  if (shift < 0) {
    // the last -shift digits must be zeros for the value to be an integer
    const cut = digits.length + shift;
    if (cut < 0 || !/^0*$/.test(digits.slice(cut))) return undefined;
    digits = digits.slice(0, cut);
    shift = 0;
  }
  if (shift > 21) return undefined; // isRounded bounds the value below 1e21
  digits = (digits + "0".repeat(shift)).replace(/^0+(?=\d)/, "");
  return digits;
}
