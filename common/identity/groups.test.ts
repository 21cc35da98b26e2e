import fc from "fast-check";
import { extractGroups, MAX_GROUP_LENGTH, MAX_GROUPS, readClaimPath } from "./groups.js";

const provider = (groupsClaim: string, mapping: Record<string, string> = {}) => ({
  groupsClaim,
  groupMapping: new Map(Object.entries(mapping)),
});

describe("readClaimPath", () => {
  test.each([
    ["top-level key", { groups: ["a"] }, "groups", ["a"]],
    ["nested (Keycloak)", { realm_access: { roles: ["r"] } }, "realm_access.roles", ["r"]],
    ["namespaced literal key with dots", { "https://example.com/groups": ["g"] }, "https://example.com/groups", ["g"]],
    ["literal key wins over nesting", { "a.b": 1, a: { b: 2 } }, "a.b", 1],
    ["nesting when no literal key", { a: { b: 2 } }, "a.b", 2],
    ["namespaced object then a key", { "https://ex.com/claims": { groups: ["n"] } }, "https://ex.com/claims.groups", ["n"]],
    ["backtracks past a dead end", { "a.b": { x: 1 }, a: { b: { c: 3 } } }, "a.b.c", 3],
    ["missing", { other: 1 }, "groups", undefined],
    ["through a non-object", { a: "str" }, "a.length", undefined],
    ["no prototype lookups", {}, "constructor", undefined],
    ["no prototype lookups (nested)", { a: {} }, "a.__proto__", undefined],
    ["no array indexing", { a: ["x"] }, "a.0", undefined],
  ])("%s", (_name, claims, path, expected) => {
    expect(readClaimPath(claims as Record<string, unknown>, path)).toEqual(expected);
  });

  test("own __proto__ from JSON is an ordinary key", () => {
    expect(readClaimPath(JSON.parse('{"__proto__": {"roles": ["x"]}}') as Record<string, unknown>, "__proto__.roles")).toEqual(["x"]);
  });
});

describe("extractGroups", () => {
  test.each([
    ["array", { groups: ["a", "b"] }, ["a", "b"]],
    ["single string", { groups: "admins" }, ["admins"]],
    ["space separated", { groups: "a b  c" }, ["a", "b", "c"]],
    ["comma separated", { groups: "a,b, c" }, ["a", "b", "c"]],
    ["dedupe, first-seen order", { groups: ["b", "a", "b", " a "] }, ["b", "a"]],
    ["non-strings dropped", { groups: ["a", 1, null, { x: 1 }, ["n"], true] }, ["a"]],
    ["empty and blank dropped", { groups: ["", "  ", "a"] }, ["a"]],
    ["control characters dropped", { groups: ["ok", "bad\nname", "nul\u0000"] }, ["ok"]],
    ["claim is a number", { groups: 5 }, []],
    ["claim absent", {}, []],
  ])("%s", (_name, claims, expected) => {
    expect(extractGroups(claims, provider("groups"))).toEqual(expected);
  });

  test("over-long values are dropped, never truncated", () => {
    const long = "g".repeat(MAX_GROUP_LENGTH + 1);
    expect(extractGroups({ groups: [long, "g".repeat(MAX_GROUP_LENGTH)] }, provider("groups"))).toEqual(["g".repeat(MAX_GROUP_LENGTH)]);
  });

  test("count is capped", () => {
    const many = Array.from({ length: MAX_GROUPS + 50 }, (_, i) => `g${i}`);
    const out = extractGroups({ groups: many }, provider("groups"));
    expect(out).toHaveLength(MAX_GROUPS);
    expect(out[0]).toBe("g0");
  });

  test("mapping replaces mapped values and passes others through (Azure GUIDs)", () => {
    const p = provider("groups", { "0b1c-guid": "platform-admins" });
    expect(extractGroups({ groups: ["0b1c-guid", "readers"] }, p)).toEqual(["platform-admins", "readers"]);
  });

  test("mapping of Google hd", () => {
    expect(extractGroups({ hd: "example.com" }, provider("hd", { "example.com": "employees" }))).toEqual(["employees"]);
  });

  test("mapping by verified email domain, case-insensitive", () => {
    const p = provider("groups", { "@example.org": "contractors" });
    expect(extractGroups({ email: "Bob@Example.ORG", email_verified: true }, p)).toEqual(["contractors"]);
  });

  test("unverified email domains map to nothing", () => {
    const p = provider("groups", { "@example.org": "contractors" });
    expect(extractGroups({ email: "bob@example.org" }, p)).toEqual([]);
    expect(extractGroups({ email: "bob@example.org", email_verified: "true" }, p)).toEqual([]);
    expect(extractGroups({ email: "bob@example.org", email_verified: false }, p)).toEqual([]);
  });

  test("email domain match is exact (no suffix tricks)", () => {
    const p = provider("groups", { "@example.org": "contractors" });
    expect(extractGroups({ email: "eve@evil-example.org", email_verified: true }, p)).toEqual([]);
    expect(extractGroups({ email: "eve@example.org.evil.com", email_verified: true }, p)).toEqual([]);
    expect(extractGroups({ email: "eve@sub.example.org", email_verified: true }, p)).toEqual([]);
  });

  test("a group named like an email-domain key does not borrow its mapping", () => {
    const p = provider("groups", { "@example.org": "contractors" });
    expect(extractGroups({ groups: ["@example.org"] }, p)).toEqual(["@example.org"]);
  });

  test("a claim value 'constructor' is not mapped through Object.prototype", () => {
    expect(extractGroups({ groups: ["constructor", "toString"] }, provider("groups", { a: "b" }))).toEqual(["constructor", "toString"]);
  });

  test("property: always a deduplicated, bounded list of strings", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const out = extractGroups({ groups: value }, provider("groups"));
        expect(new Set(out).size).toBe(out.length);
        expect(out.length).toBeLessThanOrEqual(MAX_GROUPS);
        for (const g of out) expect(typeof g === "string" && g.length > 0 && g.length <= MAX_GROUP_LENGTH).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
