/**
 * Forged and broken tokens against a real JWKS endpoint (node:http on port 0, keys made by jose),
 * each asserted by its code. Also: the unknown-kid refetch cooldown counted at the JWKS server,
 * the verified-token cache (jose calls counted, expiry at exp), and two issuers at once.
 */
import { exportSPKI, jwtVerify, SignJWT } from "jose";
import type { AuthErrorCode } from "../../common/identity/auth-error.js";
import { createVerifier, type JwtVerifyFunction, type Verifier } from "../../common/identity/verifier.js";
import { b64url, makeTestKey, signRaw, startTestIdp, type TestIdp, type TestKey } from "../../common/identity/testing/test-idp.js";

let a: TestIdp; // Keycloak-like: groups at realm_access.roles
let b: TestIdp; // Azure/Auth0-like: namespaced groups claim, other audience
let attacker: TestKey;
let clockOffsetMs = 0;
// When set, the clock stands still (only clockOffsetMs moves it): tests whose rule is a time gap
// (the refetch cooldown) then do not depend on how long the machine takes to run them.
let frozenAt: number | undefined;
const now = (): number => (frozenAt ?? Date.now()) + clockOffsetMs;
const nowSec = (): number => Math.floor(now() / 1000);
let joseCalls = 0;
const countingVerify: JwtVerifyFunction = (token, getKey, options) => {
  joseCalls++;
  return jwtVerify(token, getKey, options);
};

function providers() {
  return [
    { id: "keycloak", issuer: a.issuer, audiences: ["agentgate"], groupsClaim: "realm_access.roles" },
    {
      id: "azure",
      issuer: b.issuer,
      audiences: ["api://agentgate"],
      groupsClaim: "https://example.com/groups",
      allowedAlgorithms: ["RS256"],
      groupMapping: { "0b1c-guid": "platform-admins" },
    },
  ];
}
const makeVerifier = (): Verifier =>
  createVerifier(providers(), { allowHttp: "loopback", now, jwtVerify: countingVerify });

beforeAll(async () => {
  a = await startTestIdp({ path: "/realms/demo", now });
  b = await startTestIdp({ path: "/tenant-b/v2.0", audience: "api://agentgate", keys: [await makeTestKey("RS256", "b-rs")], now });
  attacker = await makeTestKey("RS256", "rs-1"); // same kid as A's real key
});
afterAll(async () => {
  await a.close();
  await b.close();
});
beforeEach(() => {
  clockOffsetMs = 0;
  frozenAt = undefined;
  joseCalls = 0;
});

/** Replaces one character of the signature part so the signature bytes change. */
function flipSignature(token: string): string {
  const i = token.lastIndexOf(".") + 10;
  return token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
}
function withPayload(token: string, payload: unknown): string {
  const [h, , s] = token.split(".");
  return `${h}.${b64url(payload)}.${s}`;
}

type Case = { name: string; token: () => Promise<string> | string; code: AuthErrorCode };

const cases: Case[] = [
  { name: "empty", token: () => "", code: "AUTHN_MISSING" },
  { name: "garbage", token: () => "not-a-token", code: "AUTHN_MALFORMED" },
  { name: "two parts", token: () => "eyJhbGciOiJSUzI1NiJ9.e30", code: "AUTHN_MALFORMED" },
  { name: "five parts (JWE)", token: () => "a.b.c.d.e", code: "AUTHN_MALFORMED" },
  { name: "characters outside base64url", token: () => "eyJ!!.e30.sig", code: "AUTHN_MALFORMED" },
  { name: "3 parts, impossible base64 length", token: () => "eyJhbGciOiJSUzI1NiJ9.e.sig", code: "AUTHN_MALFORMED" },
  { name: "3 parts, header not JSON", token: () => `${b64url(new TextEncoder().encode("not json"))}.e30.sig`, code: "AUTHN_MALFORMED" },
  { name: "3 parts, header not UTF-8", token: () => `${b64url(new Uint8Array([0xff, 0xfe, 0x7b]))}.e30.sig`, code: "AUTHN_MALFORMED" },
  { name: "3 parts, payload is an array", token: () => `${b64url({ alg: "RS256" })}.${b64url([1])}.sig`, code: "AUTHN_MALFORMED" },
  { name: "header without alg", token: () => `${b64url({ typ: "JWT" })}.${b64url({ iss: a.issuer })}.sig`, code: "AUTHN_MALFORMED" },
  {
    name: "oversized token (validly signed)",
    token: () => a.sign({ pad: "x".repeat(9000) }),
    code: "AUTHN_MALFORMED",
  },
  {
    name: "crit header (validly signed)",
    token: () => signRaw({ alg: "RS256", kid: "rs-1", crit: ["exp-ext"], "exp-ext": 1 }, a.claims(), a.keys[0]!),
    code: "AUTHN_MALFORMED",
  },
  { name: "expired", token: () => a.sign({ iat: nowSec() - 7200, exp: nowSec() - 3600 }), code: "AUTHN_EXPIRED" },
  { name: "expired beyond the 30 s tolerance", token: () => a.sign({ iat: nowSec() - 600, exp: nowSec() - 31 }), code: "AUTHN_EXPIRED" },
  { name: "not yet valid (nbf)", token: () => a.sign({ nbf: nowSec() + 3600 }), code: "AUTHN_NOT_YET_VALID" },
  { name: "issued in the future (iat)", token: () => a.sign({ iat: nowSec() + 3600, exp: nowSec() + 7200 }), code: "AUTHN_NOT_YET_VALID" },
  { name: "unknown issuer", token: () => a.sign({ iss: "https://evil.example" }), code: "AUTHN_UNKNOWN_ISSUER" },
  { name: "issuer with a trailing slash", token: () => a.sign({ iss: `${a.issuer}/` }), code: "AUTHN_UNKNOWN_ISSUER" },
  { name: "issuer differing in case", token: () => a.sign({ iss: a.issuer.toUpperCase() }), code: "AUTHN_UNKNOWN_ISSUER" },
  { name: "no issuer", token: () => a.sign({ iss: undefined }), code: "AUTHN_UNKNOWN_ISSUER" },
  { name: "wrong audience", token: () => a.sign({ aud: "some-other-app" }), code: "AUTHN_BAD_AUDIENCE" },
  { name: "audience of the other issuer", token: () => a.sign({ aud: "api://agentgate" }), code: "AUTHN_BAD_AUDIENCE" },
  { name: "no audience", token: () => a.sign({ aud: undefined }), code: "AUTHN_BAD_AUDIENCE" },
  { name: "bad signature (byte flipped)", token: async () => flipSignature(await a.sign()), code: "AUTHN_BAD_SIGNATURE" },
  { name: "bad ES256 signature", token: async () => flipSignature(await a.sign({}, { key: a.keys[1]! })), code: "AUTHN_BAD_SIGNATURE" },
  {
    name: "payload swapped under a valid signature",
    token: async () => withPayload(await a.sign(), a.claims({ sub: "admin" })),
    code: "AUTHN_BAD_SIGNATURE",
  },
  { name: "signature stripped", token: async () => (await a.sign()).replace(/\.[^.]+$/, "."), code: "AUTHN_BAD_SIGNATURE" },
  { name: "alg none (unsigned)", token: () => `${b64url({ alg: "none", typ: "JWT" })}.${b64url(a.claims())}.`, code: "AUTHN_ALG_NOT_ALLOWED" },
  { name: "alg None", token: () => `${b64url({ alg: "None" })}.${b64url(a.claims())}.`, code: "AUTHN_ALG_NOT_ALLOWED" },
  { name: "alg NONE with kid", token: () => `${b64url({ alg: "NONE", kid: "rs-1" })}.${b64url(a.claims())}.`, code: "AUTHN_ALG_NOT_ALLOWED" },
  {
    name: "HS256 keyed with the RSA public key (PEM)",
    token: async () =>
      new SignJWT(a.claims())
        .setProtectedHeader({ alg: "HS256", kid: "rs-1" })
        .sign(new TextEncoder().encode(await exportSPKI(a.keys[0]!.publicKey))),
    code: "AUTHN_ALG_NOT_ALLOWED",
  },
  {
    name: "HS256 keyed with the RSA public key (JWK JSON)",
    token: () =>
      new SignJWT(a.claims())
        .setProtectedHeader({ alg: "HS256", kid: "rs-1" })
        .sign(new TextEncoder().encode(JSON.stringify(a.keys[0]!.publicJwk))),
    code: "AUTHN_ALG_NOT_ALLOWED",
  },
  {
    name: "ES256 where the provider allows only RS256",
    token: async () => signRaw({ alg: "ES256", kid: "es-1" }, b.claims(), await makeTestKey("ES256", "es-1")),
    code: "AUTHN_ALG_NOT_ALLOWED",
  },
  { name: "unknown kid", token: () => a.sign({}, { key: { ...attacker, kid: "no-such-kid" } }), code: "AUTHN_UNKNOWN_KEY" },
  {
    name: "alg/key type mismatch (ES256 header naming the RSA kid)",
    token: () => signRaw({ alg: "ES256", kid: "rs-1" }, a.claims(), a.keys[1]!),
    code: "AUTHN_UNKNOWN_KEY",
  },
  { name: "kid of a wrong type", token: () => signRaw({ alg: "RS256", kid: 1 }, a.claims(), a.keys[0]!), code: "AUTHN_UNKNOWN_KEY" },
  { name: "key of another issuer (its own kid)", token: () => a.sign({}, { key: b.keys[0]! }), code: "AUTHN_UNKNOWN_KEY" },
  { name: "key of another issuer under our kid", token: () => a.sign({}, { key: { ...b.keys[0]!, kid: "rs-1" } }), code: "AUTHN_BAD_SIGNATURE" },
  { name: "attacker key under our kid", token: () => a.sign({}, { key: attacker }), code: "AUTHN_BAD_SIGNATURE" },
  {
    name: "attacker key embedded as jwk header (ignored)",
    token: () => a.sign({}, { key: attacker, header: { jwk: attacker.publicJwk } }),
    code: "AUTHN_BAD_SIGNATURE",
  },
  {
    name: "attacker JWKS via jku header (ignored)",
    token: () => a.sign({}, { key: { ...attacker, kid: "evil" }, header: { jku: "http://127.0.0.1:1/evil-jwks" } }),
    code: "AUTHN_UNKNOWN_KEY",
  },
  // Valid signature, issuer and claims, but not an access token (RFC 8725 §3.11).
  { name: "logout token (typ logout+jwt)", token: () => a.sign({ events: { "http://schemas.openid.net/event/backchannel-logout": {} } }, { header: { typ: "logout+jwt" } }), code: "AUTHN_WRONG_TYPE" },
  { name: "security event token (typ secevent+jwt)", token: () => a.sign({}, { header: { typ: "secevent+jwt" } }), code: "AUTHN_WRONG_TYPE" },
  { name: "typ as a number", token: () => a.sign({}, { header: { typ: 1 } }), code: "AUTHN_WRONG_TYPE" },
  { name: "empty typ", token: () => a.sign({}, { header: { typ: "" } }), code: "AUTHN_WRONG_TYPE" },
  { name: "no sub", token: () => a.sign({ sub: undefined }), code: "AUTHN_INVALID_CLAIMS" },
  { name: "empty sub", token: () => a.sign({ sub: "" }), code: "AUTHN_INVALID_CLAIMS" },
  { name: "no exp", token: () => a.sign({ exp: undefined }), code: "AUTHN_INVALID_CLAIMS" },
  { name: "exp as a string", token: () => a.sign({ exp: String(nowSec() + 300) }), code: "AUTHN_INVALID_CLAIMS" },
];

describe("forged and broken tokens", () => {
  let verifier: Verifier;
  beforeAll(() => {
    verifier = makeVerifier();
  });

  test.each(cases)("$name → $code", async ({ token, code }) => {
    const t = await token();
    const result = await verifier.verify(t);
    expect(result).toMatchObject({ ok: false, code });
    if (!result.ok) {
      // The message never echoes the token (nor any long piece of it).
      expect(result.message).not.toContain(t.slice(0, 20) || "\u0000");
      for (const part of t.split(".")) if (part.length >= 8) expect(result.message).not.toContain(part);
    }
  });

  test("a valid RS256 token: ok, groups from a nested claim path", async () => {
    const result = await verifier.verify(
      await a.sign({ email: "alice@example.com", name: "Alice", realm_access: { roles: ["dev", "ops", "dev"] } }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.identity).toMatchObject({
      providerId: "keycloak",
      issuer: a.issuer,
      subject: "alice",
      email: "alice@example.com",
      name: "Alice",
      groups: ["dev", "ops"],
    });
    expect(result.identity.expiresAt).toBeGreaterThan(nowSec());
    expect(Object.isFrozen(result.identity.claims)).toBe(true);
  });

  test("a valid ES256 token", async () => {
    const result = await verifier.verify(await a.sign({ realm_access: { roles: "dev ops" } }, { key: a.keys[1]! }));
    expect(result).toMatchObject({ ok: true, identity: { groups: ["dev", "ops"] } });
  });

  test("expired within the clock tolerance is still accepted (30 s)", async () => {
    const result = await verifier.verify(await a.sign({ iat: nowSec() - 600, exp: nowSec() - 10 }));
    expect(result.ok).toBe(true);
  });

  test("every failure code of the table is a value, and verify never rejects", async () => {
    await expect(verifier.verify(undefined as unknown as string)).resolves.toMatchObject({ code: "AUTHN_MISSING" });
    await expect(verifier.verify(42 as unknown as string)).resolves.toMatchObject({ code: "AUTHN_MISSING" });
  });
});

describe("unknown-kid refetch cooldown (counted at the JWKS server)", () => {
  test("a spray of random kids causes at most one refetch per 30 s", async () => {
    // Frozen clock: on a loaded machine the spray itself can take longer than the verifier's
    // minimum gap between fetches, which would allow a (legitimate) second fetch mid-spray.
    frozenAt = Date.now();
    const verifier = makeVerifier();
    const startHits = a.hits.jwks;
    const spray = async (n: number) =>
      Promise.all(
        Array.from({ length: n }, async (_, i) =>
          verifier.verify(await a.sign({ jti: String(i) }, { key: { ...attacker, kid: `random-${i}-${Math.random()}` } })),
        ),
      );
    // First contact: the initial fetch (shared by all 100 concurrent requests), no extra refetch.
    const first = await spray(100);
    expect(first.every((r) => !r.ok && r.code === "AUTHN_UNKNOWN_KEY")).toBe(true);
    expect(a.hits.jwks - startHits).toBe(1);
    // Still cooling down: more sprays cost nothing at the IdP.
    await spray(100);
    expect(a.hits.jwks - startHits).toBe(1);
    // After the cooldown: exactly one refetch for the next burst.
    clockOffsetMs += 31_000;
    const later = await spray(100);
    expect(later.every((r) => !r.ok && r.code === "AUTHN_UNKNOWN_KEY")).toBe(true);
    expect(a.hits.jwks - startHits).toBe(2);
    // Valid tokens keep working throughout.
    expect((await verifier.verify(await a.sign())).ok).toBe(true);
    expect(a.hits.jwks - startHits).toBe(2);
  });
});

describe("verified-token cache", () => {
  test("the second verify of a token does not call jose again", async () => {
    const verifier = makeVerifier();
    const token = await a.sign({ realm_access: { roles: ["dev"] } });
    const first = await verifier.verify(token);
    expect(first.ok).toBe(true);
    expect(joseCalls).toBe(1);
    const second = await verifier.verify(token);
    expect(second).toBe(first); // the same frozen result object
    expect(joseCalls).toBe(1);
    expect(verifier.stats().cacheSize).toBe(1);
  });

  test("concurrent first verifications of one token share one jose call", async () => {
    const verifier = makeVerifier();
    const token = await a.sign();
    const results = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(joseCalls).toBe(1);
  });

  test("an entry expires at the token's exp, not at exp + tolerance", async () => {
    const verifier = makeVerifier();
    const token = await a.sign({ exp: nowSec() + 5 });
    expect((await verifier.verify(token)).ok).toBe(true);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(joseCalls).toBe(1);
    clockOffsetMs += 6_000; // past exp: the cache no longer answers
    expect((await verifier.verify(token)).ok).toBe(true); // jose still accepts within the 30 s tolerance
    expect(joseCalls).toBe(2);
    expect((await verifier.verify(token)).ok).toBe(true); // ...but never re-caches it
    expect(joseCalls).toBe(3);
    clockOffsetMs += 30_000;
    expect(await verifier.verify(token)).toMatchObject({ ok: false, code: "AUTHN_EXPIRED" });
    expect(joseCalls).toBe(4);
  });

  test("failures are not cached", async () => {
    const verifier = makeVerifier();
    const token = await a.sign({ aud: "nope" });
    await verifier.verify(token);
    await verifier.verify(token);
    expect(joseCalls).toBe(2);
    expect(verifier.stats().cacheSize).toBe(0);
  });

  test("invalidateIdentity() and clear() force re-verification", async () => {
    const verifier = makeVerifier();
    const alice = await a.sign({ sub: "alice" });
    const bob = await a.sign({ sub: "bob" });
    await verifier.verify(alice);
    await verifier.verify(bob);
    expect(joseCalls).toBe(2);
    expect(verifier.invalidateIdentity(a.issuer, "alice")).toBe(1);
    await verifier.verify(bob);
    expect(joseCalls).toBe(2);
    await verifier.verify(alice);
    expect(joseCalls).toBe(3);
    verifier.clear();
    await verifier.verify(bob);
    expect(joseCalls).toBe(4);
  });

  test("a verification in flight during an invalidation does not refill the cache", async () => {
    const verifier = makeVerifier();
    const token = await a.sign({ sub: "mallory" });
    const pending = verifier.verify(token);
    verifier.invalidateIdentity(a.issuer, "mallory");
    expect((await pending).ok).toBe(true);
    await verifier.verify(token);
    expect(joseCalls).toBe(2);
  });
});

describe("two issuers at once", () => {
  test("each token is verified with its own issuer's keys, audience and group claim", async () => {
    const verifier = makeVerifier();
    const fromA = await verifier.verify(await a.sign({ realm_access: { roles: ["dev"] }, groups: ["ignored"] }));
    const fromB = await verifier.verify(
      await b.sign({ sub: "bob", "https://example.com/groups": ["0b1c-guid", "readers"], realm_access: { roles: ["ignored"] } }),
    );
    expect(fromA).toMatchObject({ ok: true, identity: { providerId: "keycloak", issuer: a.issuer, groups: ["dev"] } });
    expect(fromB).toMatchObject({
      ok: true,
      identity: { providerId: "azure", issuer: b.issuer, subject: "bob", groups: ["platform-admins", "readers"] },
    });
  });

  test("a token claiming issuer B but signed by A is refused", async () => {
    const verifier = makeVerifier();
    const forged = await a.sign({ iss: b.issuer, aud: "api://agentgate" });
    expect(await verifier.verify(forged)).toMatchObject({ ok: false, code: "AUTHN_UNKNOWN_KEY" });
    const forgedKid = await a.sign({ iss: b.issuer, aud: "api://agentgate" }, { key: { ...a.keys[0]!, kid: "b-rs" } });
    expect(await verifier.verify(forgedKid)).toMatchObject({ ok: false, code: "AUTHN_BAD_SIGNATURE" });
  });
});
