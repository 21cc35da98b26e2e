import { analyzeRegex, MAX_PATTERN_LENGTH } from "./regex-safety.js";

describe("analyzeRegex", () => {
  it.each([
    ["(a+)+$", "nested quantifiers"],
    ["(a*)*b", "nested quantifiers"],
    ["(\\w+\\s?)*$", "nested quantifiers"],
    ["(a{2,3})+b", "nested quantifiers"],
    ["(a|aa)*b", "overlapping branches"],
    ["(a|a?)+b", "overlapping branches"],
    ["(\\d|\\w)+x", "overlapping branches"],
    ["\\d+\\d+x", "adjacent unbounded quantifiers"],
    ["x.*\\s*.*y", "adjacent unbounded quantifiers"],
    ["(a)\\1", "backreferences"],
    ["(?<n>a)\\k<n>", "backreferences"],
    ["(?<=a+)b", "lookarounds must have a bounded length"],
    ["(?=.*x)y", "lookarounds must have a bounded length"],
    ["\\w+@example\\.com", "leading unbounded quantifier"],
    ["x\\w+@", "leading unbounded quantifier"],
    ["\\b([a-z0-9-]+\\.)+internal\\b", "leading unbounded quantifier"], // \b does not fence "."
    ["a*", "empty string"],
    ["x".repeat(MAX_PATTERN_LENGTH + 1), "longer than"],
  ])("rejects %j (%s)", (pattern, reason) => {
    const problems = analyzeRegex(pattern);
    expect(problems.join("; ")).toContain(reason);
  });

  it.each([
    "\\bEMP-\\d{6}\\b",
    "\\b[A-Z]{2}\\d{6}\\b",
    "sk-[A-Za-z0-9]{20,40}",
    "(?<![\\w.-])([a-z0-9-]+\\.)+internal\\b",
    "\\b\\w+@corp\\.example",
    "\\d+",
    "[A-Z]{2}\\d+x",
    "(?<![\\w-])ACME_[A-Z0-9]{16}(?![\\w-])",
    "(?:foo|bar)+",
    "\\u{1F600}+",
    "[^\\s\"]{8,64}",
  ])("accepts %j", (pattern) => {
    expect(analyzeRegex(pattern)).toEqual([]);
  });

  it("honours the i flag when comparing character sets", () => {
    expect(analyzeRegex("\\b(?:a|A)+x", "i").join()).toContain("overlapping branches");
    expect(analyzeRegex("\\b(?:a|A)+x", "")).toEqual([]);
  });

  it("finishes quickly on every pattern it accepts (spot check at runtime)", () => {
    for (const p of ["(?<![\\w.-])([a-z0-9-]+\\.)+internal\\b", "\\b\\w+@corp\\.example", "[A-Z]{2}\\d+x", "\\b(?:a|A)+x"]) {
      const re = new RegExp(p, "gu");
      const t0 = performance.now();
      "a.".repeat(50_000).match(re);
      "a".repeat(100_000).match(re);
      "AB1".repeat(30_000).match(re);
      expect(performance.now() - t0).toBeLessThan(500);
    }
  });
});
