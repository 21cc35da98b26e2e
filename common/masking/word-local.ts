/**
 * Matchers whose matches never contain whitespace and whose decision reads nothing outside
 * the match's word but one character on each side ("word-local"): a HoldBack scans them from
 * the held text's first word instead of the whole released context (hold-back.ts). Both lists
 * are conservative; `hold-back-fast.test.ts` checks the property for each detector and for
 * generated patterns.
 */

/** Built-in detectors: prefixed keys, e-mail, JWT, IP addresses, wallets (one-character lookarounds, no whitespace). */
export const WORD_LOCAL_DETECTORS: ReadonlySet<string> = new Set([
  "anthropic_key",
  "aws_access_key",
  "crypto_wallet",
  "email",
  "github_token",
  "gitlab_token",
  "google_api_key",
  "ip_address",
  "jwt",
  "openai_key",
  "slack_token",
  "slack_webhook",
  "stripe_key",
]);

/** Printable ASCII but space: what a literal or class member may be (no range between two of them holds whitespace). */
const isPrintable = (c: number) => c > 0x20 && c < 0x7f;
const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** Escapes that match no whitespace and look at most one character around: digits, word characters, word boundaries. */
const SAFE_ESCAPES = "dwbB";
const GROUP_OPEN = /^\(\?(?:[imsU-]*[:)]|P?<[A-Za-z_]\w*>)/;

/**
 * True when an admin pattern (RE2 syntax, as admin-pattern.ts compiles it) is word-local:
 * built only from printable non-space ASCII literals, escaped punctuation, `\d \w \b \B`,
 * non-negated classes of those, groups, alternation, quantifiers and `^ $`. Everything
 * else (`.`, `\s`, `\S` — RE2's matches a no-break space —, `\W`, `\D`, negated or POSIX
 * classes, Unicode classes, escapes of characters, sticky or extended flags) says false:
 * the pattern is then scanned over the whole context, as before.
 */
export function isWordLocalPattern(source: string, flags: string): boolean {
  if (flags.includes("y") || flags.includes("x")) return false;
  let i = 0;
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (c === 0x2e || !isPrintable(c)) return false; // "." matches a space; whitespace and non-ASCII literals are not judged
    if (c === 0x5c) {
      const e = source.charCodeAt(i + 1);
      if (!(isPrintable(e) && (isAlnum(e) ? SAFE_ESCAPES.includes(source[i + 1]!) : true))) return false;
      i += 2;
    } else if (c === 0x5b) {
      const end = classEnd(source, i);
      if (end < 0) return false;
      i = end;
    } else if (c === 0x28 && source.charCodeAt(i + 1) === 0x3f) {
      const m = GROUP_OPEN.exec(source.slice(i, i + 40));
      if (m === null) return false;
      i += m[0].length;
    } else i++;
  }
  return true;
}

/** Index after a non-negated class of safe members starting at `open`, or -1. */
function classEnd(source: string, open: number): number {
  let j = open + 1;
  const first = source.charCodeAt(j);
  if (first === 0x5e || first === 0x5d) return -1; // "[^" negated, "[]" ambiguous
  while (j < source.length) {
    const c = source.charCodeAt(j);
    if (c === 0x5d) return j + 1;
    if (c === 0x5b || !isPrintable(c)) return -1; // POSIX classes, nesting, whitespace, non-ASCII
    if (c === 0x5c) {
      const e = source.charCodeAt(j + 1);
      if (!(isPrintable(e) && (isAlnum(e) ? "dw".includes(source[j + 1]!) : true))) return -1;
      j += 2;
    } else j++;
  }
  return -1;
}
