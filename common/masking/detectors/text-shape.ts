/**
 * Cheap whole-text facts that let a detector skip text it cannot match (most prose) before
 * running its regex. Computed in one charCode loop and memoised for the last text, since
 * the engine hands the same string to every detector in turn.
 */

interface Shape {
  /** ASCII digits in the text. */
  digits: number;
  /** Longest run of ASCII letters and digits. */
  alnumRun: number;
  /** Number of ":" characters. */
  colons: number;
}

let lastText: string | undefined;
const last: Shape = { digits: 0, alnumRun: 0, colons: 0 };

function shapeOf(text: string): Shape {
  if (text === lastText) return last;
  let digits = 0;
  let run = 0;
  let best = 0;
  let colons = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits++;
      run++;
    } else if (((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a)) run++;
    else {
      if (run > best) best = run;
      run = 0;
      if (c === 0x3a) colons++;
    }
  }
  last.digits = digits;
  last.alnumRun = run > best ? run : best;
  last.colons = colons;
  lastText = text;
  return last;
}

/** True when `text` has a run of at least `min` ASCII letters or digits. */
export function hasAlnumRun(text: string, min: number): boolean {
  return shapeOf(text).alnumRun >= min;
}

/** True when `text` contains at least `min` ASCII digits. */
export function hasDigits(text: string, min: number): boolean {
  return shapeOf(text).digits >= min;
}

/** True when `text` contains a ":" (IPv6, key: value). */
export function hasColon(text: string): boolean {
  return shapeOf(text).colons > 0;
}
