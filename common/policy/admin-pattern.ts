/**
 * The ONE compiler for every regular expression an admin supplies (denylist patterns,
 * masking regex rules, globs), shared by the control plane's validation and the proxy's
 * snapshot compiler: RE2 (the `re2` package), which runs in time linear in the input
 * whatever the pattern, so no pattern can freeze a proxy. V8's RegExp backtracks: an
 * analyzer once accepted `^(a{1,999}){1,999}$` and a 76-byte request then held a proxy
 * for 61 s. RE2 has no backreferences or lookaround; such patterns are refused at write
 * time with RE2's own message. The RE2 object implements RegExp (exec, test, lastIndex,
 * flags), so callers keep using the RegExp interface.
 */
import RE2 from "re2";

/** Longest admin pattern accepted (characters). */
export const MAX_ADMIN_PATTERN_LENGTH = 500;

/** A compiled pattern or why it cannot be one. */
export type AdminPatternResult = { readonly ok: true; readonly re: RegExp } | { readonly ok: false; readonly problem: string };

/**
 * Compiles `source` with `flags` (subset of "gimsy"; "u" is always added: code points, not
 * UTF-16 units). Never throws.
 */
export function compileAdminPattern(source: string, flags = ""): AdminPatternResult {
  if (typeof source !== "string" || source.length === 0 || source.length > MAX_ADMIN_PATTERN_LENGTH) {
    return { ok: false, problem: `pattern must be a non-empty string of at most ${MAX_ADMIN_PATTERN_LENGTH} characters` };
  }
  const bad = [...flags].filter((f) => !"gimsy".includes(f));
  if (bad.length > 0) return { ok: false, problem: `unsupported flags "${bad.join("")}"` };
  let re: RegExp;
  try {
    re = new RE2(source, flags.includes("u") ? flags : `${flags}u`);
  } catch (e) {
    return { ok: false, problem: `invalid regular expression (RE2 syntax, linear time: no backreferences or lookaround): ${(e as Error).message}` };
  }
  // A pattern matching "" would deny every body, or match (and mask) nothing everywhere.
  re.lastIndex = 0;
  if (re.test("")) return { ok: false, problem: "pattern can match the empty string" };
  re.lastIndex = 0;
  return { ok: true, re };
}

/** {@link compileAdminPattern}, throwing on a bad pattern (for inputs validated before). */
export function adminPattern(source: string, flags = ""): RegExp {
  const result = compileAdminPattern(source, flags);
  if (!result.ok) throw new Error(result.problem);
  return result.re;
}
