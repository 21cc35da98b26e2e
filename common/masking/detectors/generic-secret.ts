import type { Detector, Span } from "../types.js";
import { distinctChars, longestSequentialRun, shannonEntropy } from "../placeholder.js";
import { OPERATOR_END, tailBits, VALUE_HINT } from "./tail.js";

/**
 * Assignment-like credentials in code, configs and logs: `password = "…"`, `"client_secret":
 * "…"`, `API_KEY=…`, `:password => '…'`, `<password>…</password>`,
 * `NetworkCredential("user", "…")`. Only the value is masked.
 *
 * Prose works too ("my password is hunter22."), with a stricter value check.
 *
 * The key is the identifier around a keyword hit; its normalised tail decides the class:
 * password-like keys accept human passwords (length ≥ 6), token-like keys need a
 * random-looking value (entropy, mixed character classes). Values that are code rather than
 * data are kept: variables (`$X`, `${x}`), calls, member access, URLs, labels, placeholders.
 */

// Prose forms need " is " or " was " (see operatorFollows).
const PROSE_HINT = /\s(?:is|was)\s/;
const KEYWORD = /pass(?:word|wd|phrase)?|pwd|secret|token|api[_.-]?key|access[_.-]?key|private[_.-]?key|auth|credential|creds|key/gi;
/** An identifier's character, [A-Za-z0-9_.-], by character code (the hot loops test one character at a time). */
function isIdentChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d;
}

// password: a human password (length ≥ 6); token: random-looking (≥ 8, entropy); key: a
// key of unknown purpose (`APP_KEY`, `"key"`, `licenseKey`), random-looking and ≥ 16 long.
type ValueClass = "password" | "token" | "key";

// Classified by the identifier's last word (camelCase, snake_case, kebab-case, dotted), so
// `clientId`, `secret_length`, `passwordLabel` and `compass` are not credentials.
const PASSWORD_WORD = /^(?:\w*pass(?:word|wd|phrase)|pass|pwd|credentials?|creds)$/;
const TOKEN_WORD = /^(?:\w*(?:secret|token)|auth|authorization|\w*(?:api|access|secret|private|auth|encryption|signing|master|license|licence|activation|product|serial)key)$/;
const KEY_PAIR = /^(?:api|access|secret|private|auth|encryption|signing|master|license|licence|activation|product|serial)key$/;

/** Lower-case words of an identifier: "DevPfxPassword" → dev, pfx, password; "API_KEY" → api, key. */
function words(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

// Qualifiers that make a clearly secret position: any password-like value there is masked.
const SECRET_WORD = /^(?:secret|private|master|signing|encryption)$/;
// Keys that name data, not credentials: `primary_key`, `sort_key`, `publicKey`, `cache_key`…
const DATA_KEY = /^(?:primary|foreign|sort|partition|range|hash|composite|unique|public|idempotency|cache|lookup|row|object|map|dict|group|message|translation|i18n|shortcut|hot|cursor|dedup|dedupe|routing|shard|index|join|natural|surrogate|search|storage|bucket|item|record|state|query|config|setting|locale|label|field|column|table|entity|resource|event|metric|react|list|sub|next|prev|parent|child|node|thread|run|namespace|store)$/;

/** The value class a key names (null: not a credential key); shared with the pre-filter. */
function classOf(identifier: string): ValueClass | null {
  const w = words(identifier);
  const last = w[w.length - 1] ?? "";
  const prev = w[w.length - 2] ?? "";
  if (PASSWORD_WORD.test(last)) return "password";
  const token = TOKEN_WORD.test(last) || (w.length >= 2 && KEY_PAIR.test(prev + last));
  if (token) return w.some((x) => SECRET_WORD.test(x)) ? "password" : "token";
  if (last === "key" && !DATA_KEY.test(prev)) return "key";
  return null;
}

const CODE_START = /^[$.+#{(<[%@&=*\\/~!?,;|^`]/;
const TEMPLATE = /\$\{|\{\{|#\{|%\(|<%/;
const CALL = /^[A-Za-z_$][\w$.]*\(/;
const MEMBER = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;
const LITERAL = /^(?:true|false|null|nil|none|undefined|empty|required|optional|string|int|bool|secret|password|token)$/i;
const PLACEHOLDER = /example|placeholder|changeme|change_me|redacted|dummy|xxxx|\*\*\*|\.\.\.|your[_-]|<|>/i;
const MASKED = /^\[(?:REDACTED:)?[A-Za-z0-9_.-]+(?::[0-9a-f]{8})?\]$/;

// In prose the value must not read like a word: "the password is required".
const NOT_A_WORD = /[\d!@#$%^&*+=?~_]/;

function valueOk(value: string, identifier: string, cls: ValueClass, prose: boolean): boolean {
  if (prose && !NOT_A_WORD.test(value)) return false;
  if (value.length === 0 || value.length > 200 || value !== value.trim()) return false;
  if (CODE_START.test(value) || TEMPLATE.test(value) || CALL.test(value) || MEMBER.test(value)) return false;
  if (LITERAL.test(value) || PLACEHOLDER.test(value) || MASKED.test(value)) return false;
  if (value.includes("://") || /^arn:/i.test(value) || value.endsWith(":")) return false;
  if (value.toLowerCase().includes(identifier.toLowerCase())) return false; // echoes its own name
  if (distinctChars(value) < 4 || longestSequentialRun(value) >= 5) return false;
  if (cls === "password") return value.length >= 6;
  if (value.length < (cls === "key" ? 16 : 8) || /\s/.test(value)) return false;
  const classes = Number(/[a-z]/.test(value)) + Number(/[A-Z]/.test(value)) + Number(/\d/.test(value));
  return classes >= 2 && shannonEntropy(value) >= 3;
}

const OPERATOR = /^\s{0,8}(?::=|::=|=>|->|\?=|\|\|=|[=:,])\s{0,8}/;
const PROSE_OPERATOR = /^\s{1,4}(?:is|was)\s{1,4}/;
const OPEN_QUOTES = /^['"`]{1,3}/;
const AUTH_SCHEME = /^(?:Basic|Bearer|Token|Digest)\s+/i;

interface Found {
  span: Span;
  prose: boolean;
}

// What ends an unquoted value: whitespace, quotes, separators, closing brackets, "<", ">", "&".
// (every character JavaScript's \s matches, listed: the set is tested per character)
const ENDS_UNQUOTED_VALUE: ReadonlySet<number> = new Set(
  [..." \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'\"`,;)}]<>&"].map((c) => c.charCodeAt(0)),
);

/** Parses `<sep> <value>` after the identifier; returns the value span or null. */
function valueAfter(text: string, from: number, quotedKey: boolean): Found | null {
  let i = from;
  while (i < text.length && i < from + 2 && (text[i] === '"' || text[i] === "'" || text[i] === "`" || text[i] === "]")) i++;
  const rest = text.slice(i, i + 240);
  const prose = PROSE_OPERATOR.exec(rest);
  const op = prose ?? OPERATOR.exec(rest);
  if (op === null) return null;
  // A bare comma separates arguments: only a quoted key ("api_token", "…") is followed by its value.
  if (op[0].trim() === "," && !quotedKey) return null;
  let j = i + op[0].length;
  const q = OPEN_QUOTES.exec(text.slice(j, j + 3));
  if (q !== null) j += q[0].length;
  const scheme = AUTH_SCHEME.exec(text.slice(j, j + 16)); // "Authorization: Bearer <token>"
  if (scheme !== null) j += scheme[0].length;
  if (q !== null) {
    // searches stay within the longest value: many keyword hits must not rescan the text
    const window = text.slice(j, j + 201);
    const end = window.indexOf(q[0][q[0].length - 1]!);
    const nl = window.indexOf("\n");
    if (end < 0 || (nl >= 0 && nl < end)) return null;
    return { span: { start: j, end: j + end }, prose: prose !== null };
  }
  let end = j;
  const limit = Math.min(text.length, j + 201);
  while (end < limit && !ENDS_UNQUOTED_VALUE.has(text.charCodeAt(end))) end++;
  return end > j ? { span: { start: j, end }, prose: prose !== null } : null;
}

/** `Credential("user", "secret")` constructor calls: the second string argument. */
const CREDENTIAL_CALL = /^\(\s*(["'])[^"'\n]{0,100}\1\s*,\s*(["'])([^"'\n]{1,200})\2/;

/**
 * Quick rejection of prose ("the token is…"): after the identifier and at most two closing
 * quotes and a few spaces there must be an assignment-like character, an opening paren
 * (credential constructors) or, for `<tag>`, the closing ">".
 */
function operatorFollows(text: string, start: number, end: number): boolean {
  let i = end;
  const limit = Math.min(text.length, end + 12);
  while (i < limit) {
    const c = text.charCodeAt(i);
    if (c === 0x3d || c === 0x3a || c === 0x2c || c === 0x28) return true; // = : , (
    if (c === 0x3e) return text.charCodeAt(start - 1) === 0x3c; // <key>
    if (c === 0x2d && text.charCodeAt(i + 1) === 0x3e) return true; // ->
    if (c === 0x3f || c === 0x7c) return true; // ?= ||=
    if (c === 0x69 || c === 0x77) return i > end && PROSE_OPERATOR.test(text.slice(i - 1, i + 5)); // " is ", " was "
    if (c !== 0x20 && c !== 0x09 && c !== 0x22 && c !== 0x27 && c !== 0x60 && c !== 0x5d) return false;
    i++;
  }
  return false;
}

/** The identifier around a keyword hit, without leading and trailing dots and dashes. */
function identifierAt(text: string, start: number, end: number): string {
  return text.slice(start, end).replace(/^[.-]+|[.-]+$/g, "");
}

function findSecrets(text: string): Span[] {
  const out: Span[] = [];
  KEYWORD.lastIndex = 0;
  let lastEnd = -1;
  for (let k = KEYWORD.exec(text); k !== null; k = KEYWORD.exec(text)) {
    let s = k.index;
    let e = k.index + k[0].length;
    while (s > 0 && k.index - s < 64 && isIdentChar(text.charCodeAt(s - 1))) s--;
    while (e < text.length && e - k.index < 64 && isIdentChar(text.charCodeAt(e))) e++;
    KEYWORD.lastIndex = e; // one decision per identifier
    if (e <= lastEnd || !operatorFollows(text, s, e)) continue;
    const identifier = identifierAt(text, s, e);
    const cls = classOf(identifier);
    if (cls === null) continue;
    let span: Span | null = null;
    let prose = false;
    if (text[e] === "(" && /credentials?$/i.test(identifier)) {
      const call = CREDENTIAL_CALL.exec(text.slice(e, e + 320));
      if (call !== null) {
        const start = e + call[0].length - 1 - call[3]!.length;
        span = { start, end: start + call[3]!.length };
      }
    } else if (text[s - 1] === "<" && text[e] === ">") {
      const close = text.slice(e + 1, e + 202).indexOf("<");
      if (close > 0) span = { start: e + 1, end: e + 1 + close };
    } else {
      const quotedKey = s > 0 && (text[s - 1] === '"' || text[s - 1] === "'");
      const found = valueAfter(text, e, quotedKey);
      if (found !== null) ({ span, prose } = found);
    }
    if (span === null) continue;
    if (!valueOk(text.slice(span.start, span.end), identifier, cls, prose)) {
      // keywords inside a rejected value ("key=key=key=…") are part of it: linear, not 200× per hit
      KEYWORD.lastIndex = Math.max(KEYWORD.lastIndex, span.end);
      continue;
    }
    out.push(span);
    lastEnd = span.end;
    KEYWORD.lastIndex = span.end;
  }
  return out;
}

/**
 * mayEndAfter (types.ts): a value reaching past the whitespace at `from` either ends before a
 * closing quote or "<" after `from` (quoted values, credential calls, tags: these may hold
 * spaces), or is unquoted and so wholly after `from`: a prose one holds a NOT_A_WORD
 * character, any other starts at most 28 characters (spaces, opening quotes, an auth
 * scheme) after its operator's last character.
 */
function valueMayEndAfter(text: string, from: number): boolean {
  const t = tailBits(text, from);
  return (t.after & VALUE_HINT) !== 0 || (t.near & OPERATOR_END) !== 0;
}

/** Credentials assigned to password/secret/token-like keys in code, configs, logs and prose. */
export const genericSecret: Detector = {
  name: "generic_secret",
  // every form but prose has one of "= : , ( >" (see operatorFollows and valueAfter); prose
  // ("my password is …") accepts only a value with a digit or symbol (NOT_A_WORD)
  mayMatch: (text, shape) => shape.operator || (shape.notAWord && PROSE_HINT.test(text)),
  find: findSecrets,
  mayEndAfter: valueMayEndAfter,
};
