/** Console building blocks an attacker pokes at: the after-sign-in redirect and the session store. */
import { safeReturnPath } from "./server.js";
import { ExpiringStore } from "./sessions.js";
import { isLoopbackHost } from "./loopback.js";

test.each([
  ["/console/approvals/abc", "/console/approvals/abc"],
  ["/console/sessions?subject=alice&graph=leaky", "/console/sessions?subject=alice&graph=leaky"],
  ["/console", "/console"],
  ["//evil.example/console/", "/console/"],
  ["/\\evil.example", "/console/"],
  ["https://evil.example/console/", "/console/"],
  ["/console/../graphql", "/console/"],
  ["/consolex", "/console/"],
  ["/graphql", "/console/"],
  ["javascript:alert(1)", "/console/"],
  ["", "/console/"],
])("return path %j → %j (never another origin or a page outside the console)", (raw, expected) => {
  expect(safeReturnPath(raw)).toBe(expected);
});

test("sessions expire, are bounded (oldest out first) and a pending login is used once", () => {
  const store = new ExpiringStore<{ expiresAt: number; n: number }>(2);
  const a = store.put({ expiresAt: Date.now() + 60_000, n: 1 });
  const b = store.put({ expiresAt: Date.now() + 60_000, n: 2 });
  expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const c = store.put({ expiresAt: Date.now() + 60_000, n: 3 });
  expect(store.get(a)).toBeUndefined();
  expect(store.get(b)?.n).toBe(2);
  expect(store.take(c)?.n).toBe(3);
  expect(store.take(c)).toBeUndefined();
  const old = store.put({ expiresAt: Date.now() - 1, n: 4 });
  expect(store.get(old)).toBeUndefined();
  expect(store.get(undefined)).toBeUndefined();
});

test.each([["127.0.0.1", true], ["localhost", true], ["[::1]", true], ["127.1.2.3", true], ["10.0.0.1", false], ["console.example.com", false], ["127.0.0.1.evil.com", false]])(
  "%s is loopback: %s (cookies are Secure everywhere else)",
  (host, expected) => expect(isLoopbackHost(host)).toBe(expected),
);
