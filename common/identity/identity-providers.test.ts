import { IdentityProviderConfigError, resolveIdentityProviders, validateIdentityProviders } from "./identity-providers.js";

const okta = { id: "okta", issuer: "https://acme.okta.com/oauth2/default", audiences: ["api://agentgate"], groupsClaim: "groups" };

function problemsOf(input: unknown, allowHttp?: "never" | "loopback" | "any"): string[] {
  const r = validateIdentityProviders(input, allowHttp ? { allowHttp } : {});
  return r.ok ? [] : r.problems;
}

describe("validateIdentityProviders", () => {
  test("applies defaults and freezes", () => {
    const r = validateIdentityProviders([okta]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [p] = r.providers;
    expect(p).toMatchObject({ allowedAlgorithms: ["RS256", "ES256"], clockToleranceSeconds: 30, jwksUri: undefined });
    expect(p!.groupMapping.size).toBe(0);
    expect(Object.isFrozen(p)).toBe(true);
  });

  test("accepts several providers with namespaced claims and mappings", () => {
    const r = validateIdentityProviders([
      okta,
      { id: "google", issuer: "https://accounts.google.com", audiences: ["123.apps.googleusercontent.com"], groupsClaim: "hd", groupMapping: { "example.com": "employees", "@Example.ORG": "contractors" } },
      { id: "kc", issuer: "https://kc.example.com/realms/x", jwksUri: "https://kc.example.com/realms/x/protocol/openid-connect/certs", audiences: ["agentgate"], groupsClaim: "realm_access.roles", allowedAlgorithms: ["RS256", "PS256", "EdDSA"], clockToleranceSeconds: 300 },
      { id: "auth0", issuer: "https://acme.eu.auth0.com/", audiences: ["https://api"], groupsClaim: "https://example.com/groups" },
    ]);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.providers[1]!.groupMapping.get("@example.org")).toBe("contractors");
  });

  test.each([
    ["none", ["none"], /"none" is never allowed/],
    ["None", ["None"], /"none" is never allowed/],
    ["HS256", ["HS256"], /HS256 is symmetric/],
    ["hs512", ["hs512"], /hs512 is symmetric/],
    ["unknown", ["RS1"], /RS1 is not supported/],
    ["lower-case rs256", ["rs256"], /rs256 is not supported/],
    ["empty list", [], /non-empty array/],
    ["duplicates", ["RS256", "RS256"], /duplicates/],
    ["not an array", "RS256", /non-empty array/],
    ["null", null, /non-empty array/],
  ])("rejects allowedAlgorithms %s", (_name, allowedAlgorithms, problem) => {
    const problems = problemsOf([{ ...okta, allowedAlgorithms }]);
    expect(problems.join("\n")).toMatch(problem);
  });

  test.each([
    ["http issuer", { issuer: "http://acme.example.com" }, /must use https \(http needs the explicit allowHttp option\)/],
    ["not a URL", { issuer: "acme" }, /not an absolute URL/],
    ["ftp", { issuer: "ftp://acme.example.com" }, /must use https/],
    ["credentials", { issuer: "https://u:p@acme.example.com" }, /credentials/],
    ["query", { issuer: "https://acme.example.com/?x=1" }, /query/],
    ["fragment", { issuer: "https://acme.example.com/#x" }, /fragment/],
    ["padded", { issuer: " https://acme.example.com" }, /surrounding spaces/],
    ["http jwksUri", { jwksUri: "http://acme.example.com/keys" }, /jwksUri: must use https/],
    ["no audiences", { audiences: [] }, /audiences: must be a non-empty array/],
    ["blank audience", { audiences: [""] }, /audiences\[0\]/],
    ["duplicate audiences", { audiences: ["a", "a"] }, /duplicates/],
    ["empty groupsClaim", { groupsClaim: "" }, /groupsClaim/],
    ["groupsClaim with empty segment", { groupsClaim: "a..b" }, /empty segments/],
    ["tolerance above 300", { clockToleranceSeconds: 301 }, /from 0 to 300/],
    ["negative tolerance", { clockToleranceSeconds: -1 }, /from 0 to 300/],
    ["fractional tolerance", { clockToleranceSeconds: 1.5 }, /from 0 to 300/],
    ["bad id", { id: "has space" }, /\.id:/],
    ["mapping not an object", { groupMapping: [] }, /groupMapping: must be an object/],
    ["mapping to non-string", { groupMapping: { a: 1 } }, /value must be a non-empty string/],
    ["maxTokenAge zero", { maxTokenAgeSeconds: 0 }, /positive integer/],
    ["unknown field", { audience: "x" }, /audience: unknown field/],
  ])("rejects %s", (_name, patch, problem) => {
    expect(problemsOf([{ ...okta, ...patch }]).join("\n")).toMatch(problem);
  });

  test("http is allowed only as explicitly requested", () => {
    const local = { ...okta, issuer: "http://127.0.0.1:8080/realms/x" };
    const lan = { ...okta, issuer: "http://keycloak:8080/realms/x" };
    expect(problemsOf([local])).toHaveLength(1);
    expect(problemsOf([local], "loopback")).toEqual([]);
    expect(problemsOf([{ ...local, issuer: "http://localhost:8080" }], "loopback")).toEqual([]);
    expect(problemsOf([{ ...local, issuer: "http://[::1]:8080" }], "loopback")).toEqual([]);
    expect(problemsOf([lan], "loopback").join()).toMatch(/only for loopback/);
    expect(problemsOf([lan], "any")).toEqual([]);
  });

  test("reports every problem at once, with the provider named", () => {
    const problems = problemsOf([
      { id: "bad", issuer: "http://x", audiences: [], groupsClaim: "", allowedAlgorithms: ["none", "HS256"], clockToleranceSeconds: 999, extra: 1 },
    ]);
    expect(problems.length).toBeGreaterThanOrEqual(7);
    expect(problems.every((p) => p.startsWith("providers[0] (bad)."))).toBe(true);
  });

  test("duplicate ids and issuers across providers", () => {
    const problems = problemsOf([okta, { ...okta }, { ...okta, id: "okta2" }]);
    expect(problems.join("\n")).toMatch(/providers\[1\] \(okta\)\.id: duplicate id/);
    expect(problems.join("\n")).toMatch(/providers\[2\] \(okta2\)\.issuer: duplicate issuer/);
  });

  test("non-array and non-object input", () => {
    expect(problemsOf({})).toEqual(["providers: must be an array"]);
    expect(problemsOf([null])).toEqual(["providers[0]: must be an object"]);
  });

  test("resolveIdentityProviders throws one error listing all problems", () => {
    expect(() => resolveIdentityProviders([{ ...okta, allowedAlgorithms: ["none"], audiences: [] }])).toThrow(IdentityProviderConfigError);
    try {
      resolveIdentityProviders([{ ...okta, allowedAlgorithms: ["none"], audiences: [] }]);
    } catch (err) {
      expect((err as IdentityProviderConfigError).problems).toHaveLength(2);
    }
  });
});
