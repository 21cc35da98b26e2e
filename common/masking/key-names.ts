/**
 * Key-name rules: `password`, `api_key`, `authorization`, `*_token`. Names compare
 * case-insensitively and ignoring `-`, `_`, `.` and spaces, so `api_key` also covers `apiKey`
 * and `API-KEY` (but `x-api-key` needs its own rule or `*api_key`). `*` is a wildcard.
 * Exact names go into one Map, wildcards into a short list; results are memoised per key
 * (the same keys repeat throughout a body).
 */

/** Canonical form of a key name for comparison. */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_. ]/g, "");
}

/** Compiled key-name matcher: the lowest rule index whose name matches, or undefined. */
export interface KeyMatcher {
  match(key: string): number | undefined;
}

const MEMO_LIMIT = 4096;

/** Compiles key rules (`rule` = index in the profile) into a memoised matcher. */
export function compileKeyMatcher(rules: ReadonlyArray<{ name: string; rule: number }>): KeyMatcher | undefined {
  if (rules.length === 0) return undefined;
  const exact = new Map<string, number>();
  const globs: Array<{ body: string; rule: number }> = [];
  for (const { name, rule } of rules) {
    const norm = normalizeKey(name);
    if (norm.includes("*")) {
      globs.push({ body: norm.split("*").map((p) => p.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&")).join(".*"), rule });
    } else if (!exact.has(norm) || exact.get(norm)! > rule) {
      exact.set(norm, rule);
    }
  }
  // All wildcards in one anchored alternation, in rule order: the first alternative that
  // matches is the lowest rule (one regex run per key instead of one per wildcard rule).
  globs.sort((a, b) => a.rule - b.rule);
  const anyGlob = globs.length === 0 ? undefined : new RegExp(`^(?:${globs.map((g) => `(${g.body})`).join("|")})$`);
  const memo = new Map<string, number | -1>();
  return {
    match(key: string): number | undefined {
      const hit = memo.get(key);
      if (hit !== undefined) return hit < 0 ? undefined : hit;
      const norm = normalizeKey(key);
      let best = exact.get(norm);
      // Wildcards only on reasonably short keys: ".*" over a megabyte-long key would backtrack.
      if (anyGlob !== undefined && norm.length <= 256) {
        const m = anyGlob.exec(norm);
        if (m !== null) {
          const g = globs[m.indexOf(norm, 1) - 1]!;
          if (best === undefined || g.rule < best) best = g.rule;
        }
      }
      if (memo.size >= MEMO_LIMIT) memo.clear(); // bounded: attacker-chosen keys cannot grow it
      memo.set(key, best ?? -1);
      return best;
    },
  };
}
