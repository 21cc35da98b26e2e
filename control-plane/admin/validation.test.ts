import { identityProviderProblems, type IdentityProviderFields } from "./identity-providers.js";
import { maskingRuleProblems, type MaskingRule } from "./masking-rules.js";
import { applyPatch } from "./patch.js";
import { NO_APPROVAL, NO_LIMITS, approvalProblems, denyRule, denylistProblems, limitsProblems } from "./policy-rules.js";

/** Tables of bad inputs, asserted by the problem each must produce. */

const rule = (r: Partial<MaskingRule>): MaskingRule => ({ kind: "key", match: "password", style: "redact", label: "", ...r });

describe("masking rules (the engine's validator)", () => {
  test("valid rules of every kind pass", () => {
    expect(
      maskingRuleProblems([rule({}), rule({ kind: "path", match: "input.messages[*].content" }), rule({ kind: "detector", match: "email", style: "partial" }), rule({ kind: "regex", match: "\\bACME-\\d{6}\\b", style: "pseudonym", label: "acme_id" })]),
    ).toEqual([]);
  });

  test.each<[Partial<MaskingRule>, RegExp]>([
    [{ kind: "voodoo" }, /unknown kind "voodoo"/],
    [{ style: "blur" }, /unknown style "blur"/],
    [{ match: "" }, /match must be a non-empty string/],
    [{ kind: "regex", match: "(unclosed" }, /invalid regular expression/],
    [{ kind: "regex", match: "(a)\\1" }, /RE2 syntax/],
    [{ kind: "detector", match: "no-such-detector" }, /unknown detector/],
    [{ label: "has space" }, /label must be/],
  ])("%j is refused", (partial, problem) => {
    expect(maskingRuleProblems([rule(partial)])).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  test("problems name the rule's position", () => {
    expect(maskingRuleProblems([rule({}), rule({ kind: "x" })])[0]).toMatch(/^masking rule 1: /);
  });
});

describe("policy limits, denylist and approval", () => {
  test.each<[Record<string, unknown>, RegExp]>([
    [{ burst: -1 }, /limits\.burst: must be an integer from 0/],
    [{ concurrentRuns: 1.5 }, /limits\.concurrentRuns/],
    [{ maxBodyBytes: 2 ** 31 }, /limits\.maxBodyBytes/],
    [{ costBudgetPerDay: Number.NaN }, /limits\.costBudgetPerDay: must be a finite number/],
    [{ costPer1kTokens: -0.1 }, /limits\.costPer1kTokens/],
    [{ costPerRun: { "bad graph": 1 } }, /invalid glob "bad graph"/],
    [{ costPerRun: { echo: -1 } }, /costPerRun\["echo"\]/],
  ])("limits %j are refused", (partial, problem) => {
    expect(limitsProblems({ ...NO_LIMITS, ...partial })).toEqual([expect.stringMatching(problem)]);
  });

  test("denylist rules get positional ids and are checked together", () => {
    const rules = [denyRule({ pattern: "ok" }, 0), denyRule({ id: "rule-1", pattern: "(x*)*" }, 1), denyRule({ pattern: "y", path: "a b", message: "\u0007" }, 2)];
    expect(rules.map((r) => r.id)).toEqual(["rule-1", "rule-1", "rule-3"]);
    expect(denylistProblems(rules)).toEqual([
      'denylist #2: duplicate id "rule-1"',
      "denylist #2: pattern can match the empty string",
      "denylist #3 message: must not contain control characters",
      "denylist #3: path must be a JSON path without white space",
    ]);
  });

  test.each<[Record<string, unknown>, RegExp]>([
    [{ required: true }, /name at least one role/],
    [{ grantTtlSeconds: 8 * 86_400 }, /grantTtlSeconds/],
    [{ grantUses: -1 }, /grantUses/],
  ])("approval %j is refused", (partial, problem) => {
    expect(approvalProblems({ ...NO_APPROVAL, ...partial })).toEqual([expect.stringMatching(problem)]);
  });
});

describe("identity providers", () => {
  const base: IdentityProviderFields = { issuer: "https://idp.example.com", jwksUri: null, audiences: ["agentgate"], groupsClaim: "groups", allowedAlgorithms: ["RS256"], clockToleranceSeconds: 30, groupMapping: {} };

  test.each<[Partial<IdentityProviderFields>, RegExp]>([
    [{ issuer: "http://idp.example.com" }, /identityProvider\.issuer: must use https/],
    [{ audiences: [] }, /identityProvider\.audiences: must be a non-empty array/],
    [{ allowedAlgorithms: ["HS256"] }, /symmetric/],
    [{ allowedAlgorithms: ["none"] }, /unsigned/],
    [{ clockToleranceSeconds: 3600 }, /clockToleranceSeconds/],
    [{ groupsClaim: "a..b" }, /groupsClaim/],
  ])("%j is refused with the verifier's own words", (partial, problem) => {
    expect(identityProviderProblems({ ...base, ...partial }, "never")).toEqual([expect.stringMatching(problem)]);
  });

  test("plain http only where this control plane allows it", () => {
    expect(identityProviderProblems({ ...base, issuer: "http://127.0.0.1:9999" }, "loopback")).toEqual([]);
    expect(identityProviderProblems(base, "never")).toEqual([]);
  });
});

describe("applyPatch", () => {
  test("missing keeps, null resets to the default, unknown keys are ignored", () => {
    const current = { a: 1, b: "x", c: [1] as number[] };
    expect(applyPatch(current, { a: 2 }, {})).toEqual({ a: 2, b: "x", c: [1] });
    expect(applyPatch(current, { b: null, c: undefined }, { b: "default" })).toEqual({ a: 1, b: "default", c: [1] });
    expect(applyPatch(current, { a: null }, {})).toEqual({ a: null, b: "x", c: [1] });
    expect(applyPatch(current, { z: 1 } as never, {})).toEqual(current);
  });
});
