/**
 * Heuristics shared by token detectors to tell real credentials from documentation
 * placeholders, in the manner of gitleaks' entropy thresholds and detect-secrets' filters:
 * `AKIAIOSFODNN7EXAMPLE`, `ghp_xxxx…`, `GR134894112312312312…`, `abcdefgh…`.
 */

/** Shannon entropy of `s` in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Number of distinct characters in `s`. */
export function distinctChars(s: string): number {
  return new Set(s).size;
}

/** Length of the longest run of consecutive ascending characters ("abcd", "1234", "WXYZ"). */
export function longestSequentialRun(s: string): number {
  let best = s.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < s.length; i++) {
    const a = s.charCodeAt(i - 1) | 0x20; // fold ASCII case: "aBcD" is still a run
    const b = s.charCodeAt(i) | 0x20;
    const alnum = (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a);
    run = alnum && b === a + 1 ? run + 1 : 1;
    if (run > best) best = run;
  }
  return best;
}

/** Whole-token placeholder words that no real credential contains. */
const PLACEHOLDER_WORDS = /example|placeholder|changeme|change_me|redacted|dummy|sample/i;

/**
 * True when the random-looking part of a token (`body`, without its fixed prefix) is a
 * placeholder: too few distinct characters (`xxxx`, `1231231…`), mostly one alphabetical
 * run (`ABCDEFGHIJKLMNOP`), or a placeholder word (`…EXAMPLE`).
 */
export function isPlaceholderBody(body: string): boolean {
  if (body.length === 0) return true;
  if (distinctChars(body) < Math.min(5, Math.ceil(body.length / 2))) return true;
  if (body.length >= 8 && longestSequentialRun(body) >= Math.max(8, body.length * 0.6)) return true;
  return PLACEHOLDER_WORDS.test(body);
}
