import { jwtVerify } from "jose";
import { IdentityProviderConfigError } from "./identity-providers.js";
import { makeTestKey, signRaw, startTestIdp, type TestIdp } from "./testing/test-idp.js";
import { createVerifier, type JwtVerifyFunction } from "./verifier.js";

let idp: TestIdp;
let offset = 0;
const now = (): number => Date.now() + offset;
const sec = (): number => Math.floor(now() / 1000);
let calls = 0;
const counting: JwtVerifyFunction = (t, k, o) => {
  calls++;
  return jwtVerify(t, k, o);
};
const base = () => ({ id: "idp", issuer: idp.issuer, audiences: ["agentgate"], groupsClaim: "groups" });

beforeAll(async () => {
  idp = await startTestIdp({ now });
});
afterAll(async () => idp.close());
beforeEach(() => {
  offset = 0;
  calls = 0;
});

test("bad configuration throws with every problem; no network happens", () => {
  expect(() => createVerifier([{ ...base(), allowedAlgorithms: ["HS256"], audiences: [] }])).toThrow(IdentityProviderConfigError);
  expect(() => createVerifier([base()])).toThrow(/allowHttp/); // http issuer without the option
  expect(idp.hits.jwks).toBe(0);
});

test("no providers: every token is from an unknown issuer", async () => {
  const v = createVerifier([]);
  expect(await v.verify(await idp.sign())).toMatchObject({ code: "AUTHN_UNKNOWN_ISSUER" });
});

test("Google-style: hd and verified email domain mapped to groups", async () => {
  const v = createVerifier(
    [{ ...base(), groupsClaim: "hd", groupMapping: { "example.com": "employees", "@partner.org": "partners" } }],
    { allowHttp: "loopback" },
  );
  const emp = await v.verify(await idp.sign({ hd: "example.com", email: "a@example.com", email_verified: true }));
  expect(emp).toMatchObject({ ok: true, identity: { groups: ["employees"], email: "a@example.com" } });
  const partner = await v.verify(await idp.sign({ email: "p@Partner.org", email_verified: true }));
  expect(partner).toMatchObject({ ok: true, identity: { groups: ["partners"] } });
  const unverified = await v.verify(await idp.sign({ email: "p@partner.org", email_verified: false }));
  expect(unverified).toMatchObject({ ok: true, identity: { groups: [] } });
});

test("name falls back to preferred_username", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback" });
  expect(await v.verify(await idp.sign({ preferred_username: "al" }))).toMatchObject({ identity: { name: "al" } });
});

test("maxTokenAgeSeconds: iat required, old tokens expired, cache bounded by iat + age", async () => {
  const v = createVerifier([{ ...base(), maxTokenAgeSeconds: 60 }], { allowHttp: "loopback", now, jwtVerify: counting });
  expect(await v.verify(await idp.sign({ iat: undefined }))).toMatchObject({ code: "AUTHN_INVALID_CLAIMS" });
  expect(await v.verify(await idp.sign({ iat: sec() - 600 }))).toMatchObject({ code: "AUTHN_EXPIRED" });
  const token = await idp.sign({ iat: sec() - 50, exp: sec() + 3600 });
  expect((await v.verify(token)).ok).toBe(true);
  calls = 0;
  offset += 11_000; // iat + 60 s passed: the cache must not answer any more
  await v.verify(token);
  expect(calls).toBe(1);
});

test("cache: false verifies every time", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback", jwtVerify: counting, cache: false });
  const token = await idp.sign();
  await v.verify(token);
  await v.verify(token);
  expect(calls).toBe(2);
  expect(v.stats().cacheSize).toBe(0);
});

test("cached(): exactly what verify answers from its cache, synchronously; nothing before a verification, after an invalidation, or without a cache", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback", jwtVerify: counting, now });
  const token = await idp.sign({ sub: "carol", exp: sec() + 3600 });
  expect(v.cached!(token)).toBeUndefined();
  const verified = await v.verify(token);
  expect(verified.ok).toBe(true);
  expect(v.cached!(token)).toBe(verified);
  expect(v.cached!(`${token}x`)).toBeUndefined();
  expect(v.cached!("")).toBeUndefined();
  expect(calls).toBe(1);
  offset = 3601_000; // expired: gone from the cache, as for verify
  expect(v.cached!(token)).toBeUndefined();
  offset = 0;
  await v.verify(token);
  expect(v.cached!(token)).toBeDefined();
  v.invalidateIdentity(idp.issuer, "carol");
  expect(v.cached!(token)).toBeUndefined();
  const uncached = createVerifier([base()], { allowHttp: "loopback", cache: false });
  expect((await uncached.verify(token)).ok).toBe(true);
  expect(uncached.cached!(token)).toBeUndefined();
});

test("maxTokenBytes is configurable", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback", maxTokenBytes: 100 });
  expect(await v.verify(await idp.sign())).toMatchObject({ code: "AUTHN_MALFORMED" });
});

test("JWKS unreachable → AUTHN_JWKS_UNAVAILABLE; warmUp reports it without throwing", async () => {
  const v = createVerifier([{ ...base(), jwksUri: "http://127.0.0.1:1/jwks" }], { allowHttp: "loopback", jwks: { fetchTimeoutMs: 500 } });
  expect(await v.warmUp()).toEqual([{ providerId: "idp", ok: false, message: expect.stringMatching(/unavailable/) }]);
  const fresh = createVerifier([{ ...base(), jwksUri: "http://127.0.0.1:1/jwks" }], { allowHttp: "loopback" });
  expect(await fresh.verify(await idp.sign())).toMatchObject({ ok: false, code: "AUTHN_JWKS_UNAVAILABLE" });
});

test("warmUp fetches keys so the first request does not wait for the IdP", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback" });
  const before = idp.hits.jwks;
  expect(await v.warmUp()).toEqual([{ providerId: "idp", ok: true }]);
  expect(idp.hits.jwks).toBe(before + 1);
  await v.verify(await idp.sign());
  expect(idp.hits.jwks).toBe(before + 1);
  expect(v.stats().jwks.idp).toMatchObject({ fetches: 1, keyCount: 2 });
});

test("a token without kid: fine with one candidate key, refused when several match", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback" });
  const es = idp.keys[1]!;
  expect((await v.verify(await signRaw({ alg: "ES256" }, idp.claims(), es))).ok).toBe(true);
  const two = await startTestIdp({ keys: [await makeTestKey("RS256", "k1"), await makeTestKey("RS256", "k2")] });
  try {
    const v2 = createVerifier([{ ...base(), issuer: two.issuer }], { allowHttp: "loopback" });
    const token = await signRaw({ alg: "RS256" }, two.claims(), two.keys[0]!);
    expect(await v2.verify(token)).toMatchObject({ ok: false, code: "AUTHN_UNKNOWN_KEY" });
  } finally {
    await two.close();
  }
});

test("an unexpected error inside verification fails closed as AUTHN_INTERNAL", async () => {
  const v = createVerifier([base()], {
    allowHttp: "loopback",
    jwtVerify: () => Promise.reject(new TypeError("bug")),
  });
  expect(await v.verify(await idp.sign())).toMatchObject({ ok: false, code: "AUTHN_INTERNAL" });
});

test("the identity is deeply frozen (it is shared through the cache)", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback" });
  const r = await v.verify(await idp.sign({ groups: ["a"], nested: { deep: [1] } }));
  if (!r.ok) throw new Error("expected ok");
  expect(Object.isFrozen(r.identity)).toBe(true);
  expect(Object.isFrozen(r.identity.groups)).toBe(true);
  expect(Object.isFrozen((r.identity.claims.nested as { deep: number[] }).deep)).toBe(true);
});

test("a token with a huge nesting depth does not crash verification", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback" });
  let deep: unknown = 1;
  for (let i = 0; i < 2000; i++) deep = [deep];
  const r = await v.verify(await idp.sign({ deep }));
  expect(r.ok).toBe(true);
});

test("typ allow-list: absent, JWT, at+jwt and application/at+jwt pass (any case); other token kinds are refused", async () => {
  const v = createVerifier([base()], { allowHttp: "loopback", cache: false });
  for (const typ of [undefined, "JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", "application/jwt"]) {
    expect(await v.verify(await idp.sign({}, { header: { typ } }))).toMatchObject({ ok: true });
  }
  for (const typ of ["logout+jwt", "id_token+jwt", "secevent+jwt", "JOSE", "at+jwt ", null, ["JWT"]]) {
    expect(await v.verify(await idp.sign({}, { header: { typ } }))).toMatchObject({ ok: false, code: "AUTHN_WRONG_TYPE" });
  }
});
