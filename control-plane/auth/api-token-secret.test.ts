import { API_TOKEN_PREFIX_LENGTH, generateApiTokenSecret, isApiTokenShape, sameHash, tokenDigest } from "./api-token-secret.js";

describe("API token secrets", () => {
  test("a new token has the documented shape; only its digest and prefix are meant to be stored", () => {
    const a = generateApiTokenSecret();
    const b = generateApiTokenSecret();
    expect(a.token).toMatch(/^agt_[A-Za-z0-9_-]{43}$/);
    expect(isApiTokenShape(a.token)).toBe(true);
    expect(a.prefix).toBe(a.token.slice(0, API_TOKEN_PREFIX_LENGTH));
    expect(a.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.secretHash).toBe(tokenDigest(a.token));
    expect(a.token).not.toBe(b.token);
  });

  test.each([["agt_short"], [`agt_${"a".repeat(44)}`], [`agx_${"a".repeat(43)}`], [`agt_${"a".repeat(42)}!`]])("%s is not a token", (t) => {
    expect(isApiTokenShape(t)).toBe(false);
  });

  test("digests compare in constant time and refuse malformed input", () => {
    const d = tokenDigest("x");
    expect(sameHash(d, tokenDigest("x"))).toBe(true);
    expect(sameHash(d, tokenDigest("y"))).toBe(false);
    expect(sameHash(d, "abc")).toBe(false);
    expect(sameHash("", "")).toBe(false);
  });
});
