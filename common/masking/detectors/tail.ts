/**
 * Cheap character tests near a position, for the detectors' `mayEndAfter` (types.ts): a
 * streamed text's hold-back asks them on every push instead of scanning the whole context.
 */

/** True when `text[from, text.length)` has a character `test` accepts. */
export function anyFrom(text: string, from: number, test: (c: number) => boolean): boolean {
  for (let i = Math.max(0, from); i < text.length; i++) if (test(text.charCodeAt(i))) return true;
  return false;
}

export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** A digit after `from`: cards, phone numbers and SSNs end with one. */
export const digitAfter = (text: string, from: number): boolean => anyFrom(text, from + 1, isDigit);
