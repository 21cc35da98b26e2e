import { compileProfile, defaultProfile, DEFAULT_RULES, MaskingProfileError, MAX_RULES, validateProfile, type MaskingRuleSpec } from "./profile.js";
import { BUILTIN_DETECTORS } from "./detectors/index.js";

const rule = (r: Partial<MaskingRuleSpec> & Record<string, unknown>) => ({ style: "redact", ...r }) as MaskingRuleSpec;

describe("validateProfile", () => {
  it.each([
    [rule({ kind: "detector", match: "nope" }), 'rule 0: unknown detector "nope"'],
    [rule({ kind: "path", match: "a..b" }), 'rule 0: invalid JSON path "a..b": recursive descent'],
    [rule({ kind: "path", match: "a[" }), "rule 0: invalid JSON path"],
    [rule({ kind: "regex", match: "(" }), "rule 0: invalid regular expression"],
    [rule({ kind: "regex", match: "/abc/g" }), 'rule 0: unsupported regex flags "g"'],
    // Patterns run on RE2 (linear time): backtracking shapes are fine, backreferences and lookaround do not exist.
    [rule({ kind: "regex", match: "(\\w)\\1" }), "rule 0: invalid regular expression (RE2 syntax"],
    [rule({ kind: "regex", match: "a(?=b)" }), "rule 0: invalid regular expression (RE2 syntax"],
    [rule({ kind: "regex", match: "x(\\w{1,100}-?){1,100}y" }), "invalid repetition size"],
    [rule({ kind: "regex", match: "a".repeat(600) }), "rule 0: pattern must be a non-empty string of at most 500"],
    [rule({ kind: "key", match: "" }), "rule 0: match must be a non-empty string"],
    [rule({ kind: "key", match: "*" }), "rule 0: key name must have"],
    [rule({ kind: "magic" as never, match: "x" }), 'rule 0: unknown kind "magic"'],
    [rule({ kind: "key", match: "password", style: "scramble" as never }), 'rule 0: unknown style "scramble"'],
    [rule({ kind: "key", match: "password", label: "has space" }), "rule 0: label must be"],
  ])("%j → %s", (r, message) => {
    const problems = validateProfile([r]);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join("\n")).toContain(message);
  });

  it("lists every problem, with the rule index", () => {
    const problems = validateProfile([
      rule({ kind: "key", match: "password" }),
      rule({ kind: "detector", match: "bogus" }),
      rule({ kind: "regex", match: "(a*)*" }),
      rule({ kind: "path", match: "$" }),
    ]);
    expect(new Set(problems.map((p) => p.slice(0, 6)))).toEqual(new Set(["rule 1", "rule 2", "rule 3"]));
  });

  it("bounds the number of rules", () => {
    const many = Array.from({ length: MAX_RULES + 1 }, () => rule({ kind: "key", match: "a" }));
    expect(validateProfile(many)[0]).toContain(`at most ${MAX_RULES}`);
  });

  it("accepts a valid profile, empty style meaning redact (proto3 default)", () => {
    expect(validateProfile([{ kind: "key", match: "pin", style: "" as never, label: "" }])).toEqual([]);
    expect(compileProfile([{ kind: "key", match: "pin", style: "" as never }]).rules[0]).toMatchObject({ style: "redact", label: "pin" });
  });
});

describe("compileProfile", () => {
  it("throws MaskingProfileError carrying all problems", () => {
    let error: unknown;
    try {
      compileProfile([rule({ kind: "detector", match: "x" }), rule({ kind: "regex", match: "(a)\\1" })]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MaskingProfileError);
    expect((error as MaskingProfileError).problems).toHaveLength(2);
  });

  it("gives default labels per kind and keeps order", () => {
    const p = compileProfile([
      rule({ kind: "key", match: "*_Token" }),
      rule({ kind: "path", match: "a.b" }),
      rule({ kind: "detector", match: "credit_card", style: "partial" }),
      rule({ kind: "regex", match: "/\\bEMP-\\d{6}\\b/i", label: "employee" }),
    ]);
    expect(p.rules.map((r) => [r.index, r.label, r.partialSafe])).toEqual([
      [0, "token", false],
      [1, "path", false],
      [2, "credit_card", true],
      [3, "employee", false],
    ]);
    expect(p.matchers.map((m) => m.rule)).toEqual([2, 3]);
    expect(Object.isFrozen(p)).toBe(true);
  });

  it("default profile: every detector and the common secret key names", () => {
    const p = defaultProfile();
    expect(p).toBe(defaultProfile());
    const detectors = DEFAULT_RULES.filter((r) => r.kind === "detector").map((r) => r.match);
    expect(detectors.sort()).toEqual([...BUILTIN_DETECTORS.keys()].sort());
    for (const key of ["password", "api_key", "Authorization", "client_secret", "access_token", "x-api-key", "cookie"]) {
      expect([key, p.keys!.match(key) !== undefined]).toEqual([key, true]);
    }
    for (const key of ["input_tokens", "max_tokens", "content", "id", "thread_id"]) expect([key, p.keys!.match(key)]).toEqual([key, undefined]);
  });
});

describe("passthrough rules", () => {
  it("accept only `uninspectable`, and mark the compiled profile", () => {
    expect(compileProfile([{ kind: "passthrough", match: "uninspectable", style: "redact" }]).passUninspectable).toBe(true);
    expect(compileProfile([{ kind: "detector", match: "email", style: "redact" }]).passUninspectable).toBe(false);
    expect(validateProfile([{ kind: "passthrough", match: "everything", style: "redact" }])).toEqual(['rule 0: passthrough match must be "uninspectable"']);
  });
});
