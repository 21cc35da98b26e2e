import fc from "fast-check";
import RE2 from "re2";
import { compileAdminPattern } from "./admin-pattern.js";
import { compileGlobs } from "./glob.js";
import { denyPatternProblems } from "../../control-plane/validation.js";
import { validateProfile } from "../masking/profile.js";

/**
 * Admin patterns run on RE2 whatever their shape. The property: every pattern the shared
 * compiler accepts is an RE2 object (linear time by construction), and it answers on
 * inputs that make V8's backtracking engine run for minutes (this file would then hit
 * jest's timeout instead of passing). No timing is asserted.
 */
const ATTACK = `${"a".repeat(50_000)}!`;

describe("compileAdminPattern", () => {
  test.each(["(a+)+$", "^(a|aa)+$", "(.*a){20}$", "^(a?){25}a{25}$", "([a-z]+)*[0-9]$", "(\\w+\\s?)+$"])("%s compiles to RE2 and fails fast on the attack input", (pattern) => {
    const compiled = compileAdminPattern(pattern, "i");
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    expect(compiled.re).toBeInstanceOf(RE2);
    expect(compiled.re.test(ATTACK)).toBe(false);
  });

  test("the issue's patterns are refused where they are written (control plane and masking validation)", () => {
    expect(denyPatternProblems("denylist #1", "^(a{1,999}){1,999}$").join()).toMatch(/invalid repetition size/);
    expect(validateProfile([{ kind: "regex", match: "x(\\w{1,100}-?){1,100}y", style: "redact" }]).join()).toMatch(/invalid repetition size/);
  });

  test("property: any pattern built from nested groups, alternations and quantifiers is refused or RE2", () => {
    const atom = fc.constantFrom("a", "b", ".", "\\w", "\\s", "[ab]", "\\d");
    const quant = fc.constantFrom("", "*", "+", "?", "{2,5}", "{1,30}", "*?");
    const pattern: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.tuple(atom, quant).map(([a, q]) => a + q),
        fc.tuple(fc.array(tie("node"), { minLength: 1, maxLength: 3 }), quant).map(([xs, q]) => `(${xs.join("")})${q}`),
        fc.tuple(tie("node"), tie("node"), quant).map(([x, y, q]) => `(?:${x}|${y})${q}`),
      ),
    })).node;
    fc.assert(
      fc.property(pattern, fc.boolean(), (source, anchored) => {
        const compiled = compileAdminPattern(anchored ? `^${source}$` : source, "i");
        if (!compiled.ok) return true;
        expect(compiled.re).toBeInstanceOf(RE2);
        compiled.re.test(ATTACK);
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

test("globs run on RE2: a glob full of stars does not backtrack", () => {
  const glob = `${"a*".repeat(60)}b`;
  const matcher = compileGlobs([glob, "exact"]);
  expect(matcher.matches("a".repeat(100_000))).toBe(false);
  expect(matcher.matches(`${"a".repeat(60)}b`)).toBe(true);
  expect(matcher.matches("exact")).toBe(true);
});
