import { createHash } from "node:crypto";
import { tokenKey, VerifiedTokenCache } from "./token-cache.js";

describe("VerifiedTokenCache", () => {
  let t = 1_000_000;
  const now = (): number => t;
  beforeEach(() => {
    t = 1_000_000;
  });

  test("keys are SHA-256 digests, never the token", () => {
    const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
    const key = tokenKey(token);
    expect(key).toHaveLength(43);
    expect(key).not.toContain(token.slice(0, 10));
    expect(tokenKey(token)).toBe(key);
    expect(tokenKey(`${token}x`)).not.toBe(key);
    // the base64url SHA-256 of the token's UTF-8, as before the one-shot hash (non-ASCII included)
    for (const t of [token, "tøken-ü-😀"]) expect(tokenKey(t)).toBe(createHash("sha256").update(t).digest("base64url"));
  });

  test("an entry lives until its expiry, exclusive", () => {
    const c = new VerifiedTokenCache<string>({ now });
    c.set(tokenKey("a"), "A", t + 1000);
    expect(c.get(tokenKey("a"))).toBe("A");
    t += 999;
    expect(c.get(tokenKey("a"))).toBe("A");
    t += 1;
    expect(c.get(tokenKey("a"))).toBeUndefined();
    expect(c.size).toBe(0);
  });

  test("maxTtlMs caps a far exp", () => {
    const c = new VerifiedTokenCache<string>({ now, maxTtlMs: 5000 });
    c.set(tokenKey("a"), "A", t + 86_400_000);
    t += 4999;
    expect(c.get(tokenKey("a"))).toBe("A");
    t += 1;
    expect(c.get(tokenKey("a"))).toBeUndefined();
  });

  test("already expired values are not stored", () => {
    const c = new VerifiedTokenCache<string>({ now });
    c.set(tokenKey("a"), "A", t);
    c.set(tokenKey("b"), "B", t - 1);
    expect(c.size).toBe(0);
  });

  test("LRU: the least recently used entry goes first", () => {
    const c = new VerifiedTokenCache<string>({ now, maxEntries: 2 });
    c.set(tokenKey("a"), "A", t + 10_000);
    c.set(tokenKey("b"), "B", t + 10_000);
    expect(c.get(tokenKey("a"))).toBe("A"); // a is now most recent
    c.set(tokenKey("c"), "C", t + 10_000);
    expect(c.get(tokenKey("b"))).toBeUndefined();
    expect(c.get(tokenKey("a"))).toBe("A");
    expect(c.get(tokenKey("c"))).toBe("C");
    expect(c.size).toBe(2);
  });

  test("re-setting a key replaces it without evicting others", () => {
    const c = new VerifiedTokenCache<string>({ now, maxEntries: 2 });
    c.set(tokenKey("a"), "A", t + 10_000);
    c.set(tokenKey("b"), "B", t + 10_000);
    c.set(tokenKey("a"), "A2", t + 10_000);
    expect(c.get(tokenKey("a"))).toBe("A2");
    expect(c.get(tokenKey("b"))).toBe("B");
  });

  test("deleteWhere and clear", () => {
    const c = new VerifiedTokenCache<{ sub: string }>({ now });
    c.set(tokenKey("1"), { sub: "alice" }, t + 10_000);
    c.set(tokenKey("2"), { sub: "alice" }, t + 10_000);
    c.set(tokenKey("3"), { sub: "bob" }, t + 10_000);
    expect(c.deleteWhere((v) => v.sub === "alice")).toBe(2);
    expect(c.size).toBe(1);
    c.clear();
    expect(c.size).toBe(0);
  });

  test("maxEntries 0 disables storing", () => {
    const c = new VerifiedTokenCache<string>({ now, maxEntries: 0 });
    c.set(tokenKey("a"), "A", t + 10_000);
    expect(c.size).toBe(0);
  });

  test("the bound holds under a flood", () => {
    const c = new VerifiedTokenCache<number>({ now, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) c.set(tokenKey(String(i)), i, t + 10_000);
    expect(c.size).toBe(100);
    expect(c.get(tokenKey("999"))).toBe(999);
    expect(c.get(tokenKey("0"))).toBeUndefined();
  });
});
