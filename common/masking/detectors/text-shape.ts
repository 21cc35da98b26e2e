/**
 * Cheap whole-text facts that let the engine skip detectors that cannot match a text (most
 * prose) before running their regexes: one charCode loop per text, memoised for the last
 * text, since the engine asks for the same string's shape once per text. Each detector's
 * `mayMatch` states a necessary condition of its pattern in these terms (findSpans in
 * spans.ts skips a detector when it is false; property-tested against running them all).
 */
export interface TextShape {
  /** Longest run of ASCII letters and digits. */
  alnumRun: number;
  /** Longest run of base64 characters (ASCII letters, digits, "+", "/"). */
  base64Run: number;
  /**
   * Most digits in one run of digits and the separators numbers are printed with
   * (space, "(", ")", "+", ".", "-"): every card, phone, SSN and dotted quad lies in one.
   */
  numberRunDigits: number;
  /**
   * Where the first run as above with at least 8 digits starts (its first character after a
   * character outside the run; text.length when there is none). A match made only of digits
   * and run separators (cards, SSNs) with 8+ digits starts there or later, and no such match
   * crosses a run's start: scanning from here finds the same matches as from 0.
   */
  longNumberAt: number;
  /** A run as above with at least four digits and three dots (a dotted quad could be in it). */
  dottedQuad: boolean;
  /** Two ASCII letters then two digits at the start of an alphanumeric word (an IBAN's start). */
  ibanStart: boolean;
  /** An "@". */
  at: boolean;
  /** A ":" next to a hex digit or another ":" (an IPv6 address has one). */
  hexColon: boolean;
  /** One of "= : , ( >": every assignment-like operator has one. */
  operator: boolean;
  /** A digit or one of "!@#$%^&*+=?~_": what a password written in prose must contain. */
  notAWord: boolean;
  /** The literal prefixes found (LITERAL bits): what the prefixed-credential detectors start with. */
  literals: number;
}

/** Literal prefixes of credentials, one bit each (see literalAt). */
export const LITERAL = {
  /** "sk-" (OpenAI, Anthropic) */
  skDash: 1,
  /** "sk_" or "rk_" (Stripe) */
  stripe: 2,
  /** "gh" + one of "pousr" + "_", or "github_pat_" */
  github: 4,
  /** "gl" + 1-5 lower-case letters + "-", or "GR1348941" */
  gitlab: 8,
  /** "xox" + a letter + "-", or "xapp-" (Slack) */
  slack: 16,
  /** "AIza" (Google) */
  google: 32,
  /** "eyJ" (JWT) */
  jwt: 64,
  /** "PRIVATE KEY" */
  privateKey: 128,
  /** "hooks.slack.com" */
  webhook: 256,
} as const;

const isLower = (c: number) => c >= 0x61 && c <= 0x7a;

/** The literal a prefix ends (or starts) at the character `c` at `i` of `text`: a LITERAL bit or 0. */
function literalAt(text: string, i: number, c: number): number {
  switch (c) {
    case 0x2d: {
      // "-": "sk-", "xoxb-", "xapp-", "glpat-"…
      const p = text.charCodeAt(i - 1);
      if (p === 0x6b && text.charCodeAt(i - 2) === 0x73) return LITERAL.skDash;
      if (text.startsWith("xox", i - 4) || text.startsWith("xapp", i - 4)) return LITERAL.slack;
      let j = i - 1;
      while (j >= i - 7 && isLower(text.charCodeAt(j))) j--;
      // the letters before "-" start with "gl": "gl" + 1-5 letters
      for (let g = j + 1; g <= i - 3; g++) if (text.charCodeAt(g) === 0x67 && text.charCodeAt(g + 1) === 0x6c) return LITERAL.gitlab;
      return 0;
    }
    case 0x5f: {
      // "_": "sk_", "rk_", "ghp_", "github_pat_"
      const p = text.charCodeAt(i - 1);
      const pp = text.charCodeAt(i - 2);
      if (p === 0x6b && (pp === 0x73 || pp === 0x72)) return LITERAL.stripe;
      if (pp === 0x68 && text.charCodeAt(i - 3) === 0x67 && "pousr".includes(text[i - 1]!)) return LITERAL.github;
      return text.startsWith("github", i - 6) ? LITERAL.github : 0;
    }
    case 0x4a: // "J"
      return text.charCodeAt(i - 1) === 0x79 && text.charCodeAt(i - 2) === 0x65 ? LITERAL.jwt : 0;
    case 0x41: // "A"
      return text.startsWith("AIza", i) ? LITERAL.google : 0;
    case 0x50: // "P"
      return text.startsWith("PRIVATE KEY", i) ? LITERAL.privateKey : 0;
    case 0x47: // "G"
      return text.startsWith("GR1348941", i) ? LITERAL.gitlab : 0;
    case 0x2e: // "."
      return text.startsWith("hooks", i - 5) && text.startsWith("slack.com", i + 1) ? LITERAL.webhook : 0;
    default:
      return 0;
  }
}

// Character classes by code (ASCII only; other characters have none).
const DIGIT = 1;
const LETTER = 2;
const NUMBER_SEP = 4; // space ( ) + . -
const BASE64_SIGN = 8; // + /
const HEX = 16;
const OPERATOR = 32; // = : , ( >
const NOT_A_WORD = 64; // digits and !@#$%^&*+=?~_
const CLASS = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = DIGIT | HEX | NOT_A_WORD;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = LETTER | (c <= 0x46 ? HEX : 0);
for (let c = 0x61; c <= 0x7a; c++) CLASS[c] = LETTER | (c <= 0x66 ? HEX : 0);
for (const ch of " ().-") CLASS[ch.charCodeAt(0)]! |= NUMBER_SEP;
CLASS[0x2b] = NUMBER_SEP | BASE64_SIGN | NOT_A_WORD; // +
CLASS[0x2f] = BASE64_SIGN; // /
for (const ch of "=:,(>") CLASS[ch.charCodeAt(0)]! |= OPERATOR;
for (const ch of "!@#$%^&*=?~_") CLASS[ch.charCodeAt(0)]! |= NOT_A_WORD;
const COLON = 0x3a;
const DOT = 0x2e;
const AT = 0x40;

/** Digits that make a run "long" (longNumberAt). */
const LONG_RUN = 8;

/**
 * Where the number run whose first digit or dot is at `i` starts: back over the separators
 * before it (each is passed once: the previous run ended at a character before them).
 */
function runStart(text: string, i: number): number {
  let j = i;
  while (j > 0) {
    const p = text.charCodeAt(j - 1);
    if (p >= 128 || (CLASS[p]! & NUMBER_SEP) === 0) break;
    j--;
  }
  return j;
}

let lastText: string | undefined;
const last: TextShape = {
  alnumRun: 0,
  base64Run: 0,
  numberRunDigits: 0,
  longNumberAt: 0,
  dottedQuad: false,
  ibanStart: false,
  at: false,
  hexColon: false,
  operator: false,
  notAWord: false,
  literals: 0,
};

/** The shape of `text` (the returned object is reused: read it before asking for another text's). */
export function shapeOf(text: string): TextShape {
  if (text === lastText) return last;
  // runs are tracked by where they start (a run's length is measured when it ends), so a
  // lower-case letter, most of any text, costs two comparisons
  let alnumFrom = 0;
  let alnumMax = 0;
  let b64From = 0;
  let b64Max = 0;
  let runDigits = 0;
  let runDots = 0;
  let runMax = 0;
  let runFrom = 0; // where the current number run starts
  let longAt = -1; // where the first run with 8+ digits starts
  let quad = false;
  let ibanStart = false;
  let at = false;
  let hexColon = false;
  let seen = 0; // classes seen anywhere
  let literals = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) {
      if ((runDigits | runDots) !== 0) {
        if (runDigits > runMax) runMax = runDigits;
        if (runDigits >= LONG_RUN && longAt < 0) longAt = runFrom;
        if (runDots >= 3 && runDigits >= 4) quad = true;
        runDigits = 0;
        runDots = 0;
      }
      continue;
    }
    if (c === 0x20) {
      // ends alphanumeric and base64 runs, continues a number run
      if (i - alnumFrom > alnumMax) alnumMax = i - alnumFrom;
      alnumFrom = i + 1;
      if (i - b64From > b64Max) b64Max = i - b64From;
      b64From = i + 1;
      continue;
    }
    const k = c < 128 ? CLASS[c]! : 0;
    seen |= k;
    if (k & DIGIT) {
      // "DE89" starts an IBAN: the 4th character of an alphanumeric word, after 2 letters and a digit
      if (i - alnumFrom === 3 && CLASS[text.charCodeAt(i - 1)]! & DIGIT && CLASS[text.charCodeAt(i - 2)]! & LETTER && CLASS[text.charCodeAt(i - 3)]! & LETTER) ibanStart = true;
      if ((runDigits | runDots) === 0) runFrom = runStart(text, i);
      runDigits++;
      continue;
    }
    if ((k & LETTER) === 0) {
      if (i - alnumFrom > alnumMax) alnumMax = i - alnumFrom;
      alnumFrom = i + 1;
      if ((k & BASE64_SIGN) === 0) {
        if (i - b64From > b64Max) b64Max = i - b64From;
        b64From = i + 1;
      }
    }
    if (k & NUMBER_SEP) {
      if (c === DOT) {
        if ((runDigits | runDots) === 0) runFrom = runStart(text, i);
        runDots++;
      }
    } else if ((runDigits | runDots) !== 0) {
      if (runDigits > runMax) runMax = runDigits;
      if (runDigits >= LONG_RUN && longAt < 0) longAt = runFrom;
      if (runDots >= 3 && runDigits >= 4) quad = true;
      runDigits = 0;
      runDots = 0;
    }
    if (c < 0x61 && (c === 0x2d || c === 0x5f || c === 0x2e || c >= 0x41)) literals |= literalAt(text, i, c);
    if (c === AT) at = true;
    else if (c === COLON && !hexColon) {
      const before = text.charCodeAt(i - 1); // NaN at 0
      const after = text.charCodeAt(i + 1);
      hexColon = before === COLON || after === COLON || (before < 128 && (CLASS[before]! & HEX) !== 0) || (after < 128 && (CLASS[after]! & HEX) !== 0);
    }
  }
  if (runDigits > runMax) runMax = runDigits;
  if (runDigits >= LONG_RUN && longAt < 0) longAt = runFrom;
  if (runDots >= 3 && runDigits >= 4) quad = true;
  last.alnumRun = n - alnumFrom > alnumMax ? n - alnumFrom : alnumMax;
  last.base64Run = n - b64From > b64Max ? n - b64From : b64Max;
  last.numberRunDigits = runMax;
  last.longNumberAt = longAt < 0 ? n : longAt;
  last.dottedQuad = quad;
  last.ibanStart = ibanStart;
  last.at = at;
  last.hexColon = hexColon;
  last.operator = (seen & OPERATOR) !== 0;
  last.notAWord = (seen & NOT_A_WORD) !== 0;
  last.literals = literals;
  lastText = text;
  return last;
}
