import { isUtf8 } from "node:buffer";
import type { CompiledProfile, TextMatcher } from "./profile.js";
import type { Detector } from "./types.js";
import { charsetOf, looksLikeEventStream, mediaTypeOf } from "./decode.js";
import { findSpans } from "./spans.js";
import { IBAN_LENGTH } from "./detectors/iban.js";
import { classOf, identifierAt, isIdentChar, KEYWORD, OPERATOR_HINT, operatorFollows } from "./detectors/generic-secret.js";

/**
 * A cheap pre-scan of a whole body: false only when the engine (`maskBody` under this
 * profile) would mask nothing in it, so a caller may relay the body untouched instead of
 * parsing, walking and re-serialising it. True means "could": run the engine.
 *
 * Sound by construction (property-tested in prefilter.test.ts against maskBody): it says
 * "could" for every body the engine would change or refuse —
 * - bytes that are not plain UTF-8 (a BOM, another charset, invalid UTF-8, NUL bytes): the
 *   engine transcodes or refuses them;
 * - form bodies (percent-escapes), event streams (held-back text spans events), path rules;
 * - JSON escapes that could hide a trigger character (`\u0040`, any `\u00XX` below 0x80, `\/`);
 * - key rules: the rule's name in a key position of the lower-cased text (separators allowed
 *   between its letters, as `normalizeKey` ignores them);
 * - admin regexes (RE2, linear): run as they are on the raw text, which holds every JSON
 *   string verbatim when it has no backslash; anchored patterns (`^ $ \A \z`) or a backslash
 *   in the body say "could";
 * - detectors: each has a context-free trigger (a literal prefix, a digit run, an `@`, a
 *   hex run with colons, an alphanumeric run of a wallet's length, a keyword); a trigger hit
 *   is confirmed by running the detector itself on a window around it that holds every
 *   character its match and context checks read. A window with a backslash (an escape that
 *   changes what the detector sees) says "could", and so does running out of the window budget.
 *
 * Cost: a few native regex scans of the text (see bench/masking.bench.ts "pre-filter").
 * Not for streaming: a secret split over two events has no trigger in either one.
 */
export function couldContainSensitive(body: Uint8Array | string, profile: CompiledProfile, contentType?: string): boolean {
  let text: string;
  if (typeof body === "string") text = body;
  else {
    if (!plainUtf8(body, contentType)) return true;
    text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  }
  const plan = planOf(profile);
  if (plan.always) return true;
  const media = mediaTypeOf(contentType);
  if (media === "application/x-www-form-urlencoded" || media === "text/event-stream" || looksLikeEventStream(text)) return true;
  if (HIDING_ESCAPE.test(text)) return true;
  if (plan.keys !== undefined && (UNICODE_FOLDS_TO_ASCII.test(text) || plan.keys.test(text.toLowerCase()))) return true;
  if (plan.regexes.length > 0) {
    if (text.includes("\\")) return true;
    for (const re of plan.regexes) {
      re.lastIndex = 0;
      if (re.test(text)) return true;
    }
  }
  const budget = newBudget(text);
  for (const check of plan.checks) if (check.run(text, budget, false).length > 0) return true;
  return largeNumberMasked(text, profile, plan);
}

const narrowed = new WeakMap<CompiledProfile, Map<string, CompiledProfile>>();

/**
 * The profile with only the detectors that could find something somewhere in `text` (the
 * same triggers and confirmations as couldContainSensitive, each detector on its own), so the
 * engine runs 4 detectors over every string of a body instead of 20. For text the engine
 * reads as it is: a JSON or plain-text body's decoded text (not event streams, whose held
 * text spans events, nor form bodies, which are percent-decoded). Returns `profile` itself
 * when nothing can be dropped or the text hides characters (escapes) or holds long numbers
 * (masked as their printed value). Narrowed profiles are memoised per kept set.
 */
export function narrowProfile(text: string, profile: CompiledProfile): CompiledProfile {
  if (profile.matchers.length <= 1 || HIDING_ESCAPE.test(text)) return profile;
  const plan = planOf(profile);
  if (plan.cheapChecks.length === 0 || hasLongNumber(text)) return profile;
  const budget = newBudget(text);
  const keep = new Set<string>();
  for (const check of plan.cheapChecks) for (const name of check.run(text, budget, true)) keep.add(name);
  const kept = profile.matchers.filter((m) => m.detector === undefined || !CHEAP.has(m.detector.name) || keep.has(m.detector.name));
  if (kept.length === profile.matchers.length) return profile;
  let byKept = narrowed.get(profile);
  if (byKept === undefined) narrowed.set(profile, (byKept = new Map()));
  const key = kept.map((m) => m.rule).join(",");
  let p = byKept.get(key);
  if (p === undefined) byKept.set(key, (p = Object.freeze({ ...profile, matchers: Object.freeze(kept) })));
  return p;
}

function newBudget(text: string): Budget {
  return { left: Math.max(MIN_WINDOW_CHARS, text.length * WINDOW_CHARS_PER_CHAR) };
}

const UTF8 = new Set(["utf-8", "utf8", "unicode-1-1-utf-8", "us-ascii", "ascii"]);

/** UTF-8 without a BOM, no NUL byte, and no other charset declared: what the engine reads as is. */
function plainUtf8(b: Uint8Array, contentType: string | undefined): boolean {
  if (b.length >= 2 && ((b[0] === 0xef && b[1] === 0xbb) || (b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) return false;
  const charset = charsetOf(contentType);
  if (charset !== undefined && !UTF8.has(charset)) return false;
  return b.indexOf(0) < 0 && isUtf8(b);
}

// JSON escapes that decode to an ASCII character a trigger could need ("\u0040" is "@"), or "/".
const HIDING_ESCAPE = /\\(?:u00[0-7]|\/)/i;
// Characters outside ASCII whose lower case is ASCII (Kelvin sign, dotted I), escaped: a key
// named with them normalises to an ASCII name the key trigger would not see.
const UNICODE_FOLDS_TO_ASCII = /\\u(?:212a|0130)/i;

/** Characters of windows confirmed per body: twice its length, at least 64 Ki (bounds the work linearly). */
const MIN_WINDOW_CHARS = 64 * 1024;
const WINDOW_CHARS_PER_CHAR = 2;

interface Budget {
  left: number;
}
/** A detector's trigger test: true when it could find something (confirmed, or out of budget). */
type Test = (text: string, budget: Budget) => boolean;
/** Runs one or more detectors' tests; returns the names that could find something (all, or stops at the first). */
interface Check {
  run(text: string, budget: Budget, all: boolean): readonly string[];
}
const NO_NAMES: readonly string[] = Object.freeze([]);

interface Plan {
  /** The profile has a rule the pre-filter cannot reason about (path rules). */
  readonly always: boolean;
  /** Key rule names in key position, over the lower-cased text. */
  readonly keys: RegExp | undefined;
  readonly regexes: readonly RegExp[];
  readonly checks: readonly Check[];
  /** The checks of detectors in CHEAP (narrowProfile runs only these). */
  readonly cheapChecks: readonly Check[];
  readonly numberMatchers: boolean;
}

const plans = new WeakMap<CompiledProfile, Plan>();

function planOf(profile: CompiledProfile): Plan {
  let plan = plans.get(profile);
  if (plan === undefined) plans.set(profile, (plan = compilePlan(profile)));
  return plan;
}

function compilePlan(profile: CompiledProfile): Plan {
  let always = profile.paths !== undefined;
  const keys = keyTrigger(profile.keyNames);
  if (keys === null) always = true;
  const regexes: RegExp[] = [];
  const detectors = new Set<string>();
  for (const m of profile.matchers) {
    if (m.regex !== undefined) {
      if (anchored(m.regex.source)) always = true;
      regexes.push(m.regex);
    } else if (m.detector !== undefined && CHECKS.has(m.detector.name)) detectors.add(m.detector.name);
    else always = true; // a matcher without a known trigger
  }
  const checks: Check[] = [];
  const cheapChecks: Check[] = [];
  for (const name of detectors) {
    const test = CHECKS.get(name)!(detectorNamed(profile.matchers, name));
    const found = Object.freeze([name]);
    const check: Check = { run: (text, budget) => (test(text, budget) ? found : NO_NAMES) };
    checks.push(check);
    if (CHEAP.has(name)) cheapChecks.push(check);
  }
  const numeric = numericRuns(profile.matchers);
  if (numeric !== undefined) checks.push(numeric);
  return { always, keys: keys ?? undefined, regexes, checks, cheapChecks, numberMatchers: profile.matchers.length > 0 };
}

function detectorNamed(matchers: readonly TextMatcher[], name: string): Detector {
  return matchers.find((m) => m.detector?.name === name)!.detector!;
}

/** `^`, `$`, `\A`, `\z` outside a negated class: a string boundary the raw text does not have. */
function anchored(source: string): boolean {
  if (/\\[Az]/.test(source)) return true;
  return /[\^$]/.test(source.replace(/\\./g, "").replace(/\[\^/g, "["));
}

const SEP = "[-_. ]*";
const escapeRe = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");

/**
 * Key names in key position: `"` + name + `":` with separators anywhere (a glob's `*` end
 * is open; key rules apply to JSON members, and to form fields, which always say "could"). undefined without key rules; null when a name has characters JSON escapes or
 * non-ASCII ones (then the raw text cannot be searched for it).
 */
function keyTrigger(names: readonly string[]): RegExp | undefined | null {
  if (names.length === 0) return undefined;
  const alternatives: string[] = [];
  for (const name of names) {
    if (/[^\x20-\x7e]|["\\]/.test(name)) return null;
    const parts = name.split("*").filter((p) => p.length > 0);
    const spelled = (p: string) => [...p].map(escapeRe).join(SEP);
    if (parts.length === 1) {
      const open = name.startsWith("*") ? "" : `"${SEP}`;
      const close = name.endsWith("*") ? "" : `${SEP}"\\s*:`;
      alternatives.push(open + spelled(parts[0]!) + close);
    } else {
      // several fixed parts: the longest one, anywhere (a necessary condition)
      alternatives.push(spelled(parts.reduce((a, b) => (b.length > a.length ? b : a))));
    }
  }
  return new RegExp(alternatives.join("|"));
}

/** Runs the detector on text[from, to) (clipped); a backslash in the window says "could". */
function confirm(text: string, from: number, to: number, d: Detector, budget: Budget): boolean {
  const window = text.slice(Math.max(0, from), Math.min(text.length, to));
  budget.left -= window.length;
  if (budget.left < 0) return true;
  return window.includes("\\") || d.find(window).length > 0;
}

/**
 * A trigger regex (global) whose every hit is confirmed on [hit - before, hit + after):
 * `before` covers the detector's look-behind and a 6-character escape, `after` its longest match.
 */
function triggered(re: RegExp, before: number, after: number, accept?: (m: RegExpExecArray) => boolean): (d: Detector) => Test {
  return (d) => (text, budget) => {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (accept !== undefined && !accept(m)) continue;
      if (confirm(text, m.index - before, m.index + m[0].length + after, d, budget)) return true;
    }
    return false;
  };
}

const anyHit = (re: RegExp) => (): Test => (text) => re.test(text);

// Alphanumeric runs a wallet address can be (26–90 characters, + 5 for an escape's tail).
const ALNUM_RUN = /[A-Za-z0-9]{26,}/g;
// 40 base64 characters, + 6 for an escape's tail, as a whole run.
const B64_RUN = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{40,}/g;
// "::" or six colons in one hex run: an IPv6 address has one or the other (times and
// "a:b" pairs have neither). Both start at a colon, so the scan only stops at colons.
const V6_RUN = /::|:[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:/g;
const GENERIC_LOOKAHEAD = 64 + 12 + 240 + 3 + 16 + 201 + 8;

/**
 * Trigger checks by detector name (data: one line per detector). The numeric detectors
 * (cards, phones, SSNs, IPv4) share one pass over digit runs, see numericRuns.
 */
const CHECKS: ReadonlyMap<string, (d: Detector) => Test> = new Map<string, (d: Detector) => Test>([
  ["private_key", anyHit(/PRIVATE KEY/)],
  ["jwt", anyHit(/eyJ/)],
  ["email", anyHit(/@/)],
  ["aws_access_key", triggered(/A(?:3T[A-Z0-9]|KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|PKA)/g, 8, 24)],
  ["github_token", triggered(/gh[pousr]_|github_pat_/g, 8, 270)],
  ["gitlab_token", triggered(/gl(?:pat|dt|ft|soat|rt|ffct|tst|cbt|imt|ptt|agent|oas)-|GR1348941/g, 8, 1100)],
  ["slack_webhook", triggered(/hooks\.slack\.com/g, 16, 200)],
  ["slack_token", triggered(/xox[abposre]|xapp/g, 8, 260)],
  ["anthropic_key", triggered(/sk-ant-/g, 8, 160)],
  ["openai_key", triggered(/sk-/g, 8, 420)],
  ["stripe_key", triggered(/[sr]k_(?:live|test|prod)_/g, 8, 270)],
  ["google_api_key", triggered(/AIza/g, 8, 48)],
  ["iban", triggered(/[A-Za-z]{2}\d{2}/g, 8, 64, (m) => IBAN_LENGTH.has(m[0].slice(0, 2).toUpperCase()))],
  ["crypto_wallet", triggered(ALNUM_RUN, 8, 2, (m) => m[0].length <= 95)],
  ["ip_address", triggered(V6_RUN, 48, 100)],
  ["aws_secret", (d) => (text, budget) => /aws|secret/i.test(text) && triggered(B64_RUN, 96, 2, (m) => m[0].length <= 46)(d)(text, budget)],
  ["generic_secret", (d) => (text, budget) => OPERATOR_HINT.test(text) && genericSecretHits(text, d, budget)],
  // numeric detectors: numericRuns
  ["credit_card", () => () => false],
  ["phone", () => () => false],
  ["us_ssn", () => () => false],
]);

/**
 * Detectors whose trigger is a literal (a native substring search over the body, ~0.2 ms per
 * MB each, measured): narrowProfile drops these when absent. The contextual ones (digit
 * runs, keywords, alphanumeric runs) cost about as much to pre-scan as to run, so they stay.
 */
const CHEAP: ReadonlySet<string> = new Set([
  "private_key", "jwt", "email", "aws_access_key", "github_token", "gitlab_token", "slack_webhook", "slack_token",
  "anthropic_key", "openai_key", "stripe_key", "google_api_key", "aws_secret",
]);

const KEYWORDS = new RegExp(KEYWORD.source, KEYWORD.flags);

// classOf per identifier, memoised: the same member names ("input_tokens") repeat through a body.
const CLASS_MEMO_LIMIT = 4096;
const classMemo = new Map<string, boolean>();
function credentialName(identifier: string): boolean {
  let hit = classMemo.get(identifier);
  if (hit === undefined) {
    hit = classOf(identifier) !== null;
    if (classMemo.size >= CLASS_MEMO_LIMIT) classMemo.clear();
    classMemo.set(identifier, hit);
  }
  return hit;
}

/**
 * Each keyword hit is confirmed on a window that starts where the detector's identifier
 * starts (the same walk back as the detector), so no earlier keyword in the window changes
 * the decision, and reaches as far as the detector reads after it.
 */
function genericSecretHits(text: string, d: Detector, budget: Budget): boolean {
  KEYWORDS.lastIndex = 0;
  for (let k = KEYWORDS.exec(text); k !== null; k = KEYWORDS.exec(text)) {
    let s = k.index;
    while (s > 0 && k.index - s < 64 && isIdentChar(text.charCodeAt(s - 1))) s--;
    // the character before the identifier (a quote or "<" decide the form), unless the walk stopped at its bound
    const from = s > 0 && !isIdentChar(text.charCodeAt(s - 1)) ? s - 1 : s;
    if (from > 0 && text[from - 1] === "\\") return true; // "\n" + key: the escape's letter is not part of the name
    let e = k.index + k[0].length;
    while (e < text.length && e - k.index < 64 && isIdentChar(text.charCodeAt(e))) e++;
    KEYWORDS.lastIndex = e; // one decision per identifier, as the detector
    // the detector's own first tests on the same identifier: an assignment-like operator
    // follows ("the key result" has none), and the name is a credential's ("input_tokens" is not)
    if (!operatorFollows(text, s, e) || !credentialName(identifierAt(text, s, e))) continue;
    if (confirm(text, from, k.index + GENERIC_LOOKAHEAD, d, budget)) return true;
  }
  return false;
}

// Runs of digits and the separators cards, phones, SSNs and dotted quads use, 7 characters or
// more (8 digits, or a dotted quad): shorter numbers fail inside the regex engine, unseen.
// A match starts where the run starts (a shorter rest fails at every later position too).
const NUMERIC_RUN = /[+(]?\d[\d ().\-/]{6,}/g;
const DECIMAL = /^\d+\.\d+$/;
const DASHED = /^[\d-]*\d$/;
// After a run, a word character other than an extension ("x", "ext") ends every numeric match.
const GLUED_WORD = /[A-DF-Za-df-wyz_]/;

/** The numeric detectors of the profile, in one pass over digit runs. */
function numericRuns(matchers: readonly TextMatcher[]): Check | undefined {
  const pick = (name: string) => matchers.find((m) => m.detector?.name === name)?.detector;
  const card = pick("credit_card");
  const phone = pick("phone");
  const ssn = pick("us_ssn");
  const ip = pick("ip_address");
  const wanted = [card, phone, ssn, ip].filter((d) => d !== undefined).length;
  if (wanted === 0) return undefined;
  return {
    run(text, budget, all) {
      const found = new Set<string>();
      const note = (d: Detector | undefined, applies: boolean, from: number, to: number) => {
        if (d !== undefined && applies && !found.has(d.name) && confirm(text, from, to, d, budget)) found.add(d.name);
      };
      NUMERIC_RUN.lastIndex = 0;
      for (let m = NUMERIC_RUN.exec(text); m !== null; m = NUMERIC_RUN.exec(text)) {
        const run = m[0];
        let digits = 0;
        let dots = 0;
        for (let i = 0; i < run.length; i++) {
          const c = run.charCodeAt(i);
          if (c >= 0x30 && c <= 0x39) digits++;
          else if (c === 0x2e) dots++;
        }
        if (digits < 8 && dots < 3) continue;
        if (DECIMAL.test(run)) continue; // 3.14159265, fractional seconds
        const end = m.index + run.length;
        if (DASHED.test(run) && end < text.length && GLUED_WORD.test(text[end]!)) continue; // 2024-12-07T…
        const from = m.index - 48;
        const to = end + 16;
        note(card, digits >= 12, from, to);
        note(phone, digits >= 8, from, to);
        note(ssn, digits >= 9, from, to);
        note(ip, dots >= 3, from, to);
        if (found.size === wanted || (!all && found.size > 0)) break;
      }
      return found.size === 0 ? NO_NAMES : [...found];
    },
  };
}

// JSON numbers the engine masks as text (integers ≥ 1e12: a card number sent as a number):
// 13 digits in a row or an exponent, widened to the whole number token.
const LONG_NUMBER = /\d{13}|\d[eE][+-]?\d/g;
const NUMBER_CHARS = /[-\d.eE+]/;

/** True when the text holds a number the engine would mask as its printed value (an integer ≥ 1e12). */
function hasLongNumber(text: string): boolean {
  return eachLongNumber(text, () => true);
}

/** Calls `f` with each integer ≥ 1e12 written as a number token; stops when it returns true. */
function eachLongNumber(text: string, f: (v: number) => boolean): boolean {
  LONG_NUMBER.lastIndex = 0;
  for (let m = LONG_NUMBER.exec(text); m !== null; m = LONG_NUMBER.exec(text)) {
    let start = m.index;
    let end = m.index + m[0].length;
    while (start > 0 && NUMBER_CHARS.test(text[start - 1]!)) start--;
    while (end < text.length && NUMBER_CHARS.test(text[end]!)) end++;
    LONG_NUMBER.lastIndex = end;
    const v = Number(text.slice(start, end));
    if (Number.isInteger(v) && Math.abs(v) >= 1e12 && f(v)) return true;
  }
  return false;
}

/** A JSON number the engine would print and mask (maskNumber) with a masked result. */
function largeNumberMasked(text: string, profile: CompiledProfile, plan: Plan): boolean {
  return plan.numberMatchers && eachLongNumber(text, (v) => findSpans(String(v), profile).length > 0);
}
