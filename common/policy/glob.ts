/**
 * Compiles a list of ids and globs ("echo", "support-*", "runs:*", "*") into one matcher.
 * Exact names go into a Set; globs become one anchored regular expression, run by RE2
 * (admin-pattern.ts): only `*` is special, but `a*a*a*…b` would still backtrack
 * polynomially in V8.
 */
import { adminPattern } from "./admin-pattern.js";

export interface NameMatcher {
  readonly any: boolean;
  matches(name: string): boolean;
}

const GLOB_CHARS = /^[A-Za-z0-9._:*\-/@]{1,200}$/;

/** Returns the problems of a glob list (empty when valid). */
export function globProblems(globs: readonly string[]): string[] {
  return globs.filter((g) => !GLOB_CHARS.test(g)).map((g) => `invalid glob ${JSON.stringify(g)}`);
}

/** Builds a matcher; throws on an invalid glob (snapshots are validated before use). */
export function compileGlobs(globs: readonly string[]): NameMatcher {
  const problems = globProblems(globs);
  if (problems.length) throw new Error(problems.join("; "));
  if (globs.includes("*")) return { any: true, matches: () => true };
  const exact = new Set(globs.filter((g) => !g.includes("*")));
  const patterns = globs
    .filter((g) => g.includes("*"))
    .map((g) => g.split("*").map((s) => s.replace(/[.\\+?^${}()|[\]/-]/g, "\\$&")).join(".*"));
  const re = patterns.length ? adminPattern(`^(?:${patterns.join("|")})$`, "s") : undefined;
  return { any: false, matches: (name) => exact.has(name) || (re !== undefined && re.test(name)) };
}
