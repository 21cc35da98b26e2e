import { compileKeyMatcher, normalizeKey } from "./key-names.js";

describe("key-name rules", () => {
  const m = compileKeyMatcher([
    { name: "password", rule: 2 },
    { name: "api_key", rule: 0 },
    { name: "*_token", rule: 1 },
    { name: "Password", rule: 5 },
  ])!;

  it("normalises case and separators", () => {
    expect(normalizeKey("X-API_Key.v")).toBe("xapikeyv");
  });

  it.each([
    ["password", 2],
    ["PASSWORD", 2],
    ["apiKey", 0],
    ["API-KEY", 0],
    ["refresh_token", 1],
    ["token", 1], // "*_token" normalises to "*token"; "*" also matches nothing
    ["max_tokens", undefined],
    ["passwords", undefined],
  ])("%s → rule %s", (key, rule) => {
    expect(m.match(key)).toBe(rule);
    expect(m.match(key)).toBe(rule); // memoised answer is the same
  });
});
