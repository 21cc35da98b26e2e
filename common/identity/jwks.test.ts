import { generateKeyPairSync } from "node:crypto";
import { errors, exportJWK, generateKeyPair } from "jose";
import { createJwksSource, JwksUnavailableError, type JwksOptions } from "./jwks.js";
import { makeTestKey, startTestIdp, type TestIdp, type TestKey } from "./testing/test-idp.js";

let idp: TestIdp;
let t = 0;
const now = (): number => t;
const RS = { alg: "RS256", kid: "rs-1" } as const;

function source(options: JwksOptions = {}, jwksUri?: string) {
  return createJwksSource({ issuer: idp.issuer, jwksUri }, { allowHttp: "loopback", now, ...options });
}
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}
async function cause(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(JwksUnavailableError);
  return String((err as Error & { cause?: Error }).cause?.message ?? "");
}

let baseKeys: TestKey[];
beforeAll(async () => {
  baseKeys = [await makeTestKey("RS256", "rs-1"), await makeTestKey("ES256", "es-1")];
});
beforeEach(async () => {
  t = 1_700_000_000_000;
  idp = await startTestIdp({ keys: [...baseKeys] });
});
afterEach(async () => {
  await idp.close();
});

test("discovery once, then one JWKS fetch shared by concurrent callers", async () => {
  const s = source();
  const keys = await Promise.all(Array.from({ length: 10 }, () => s.getKey(RS)));
  expect(keys.every((k) => k.type === "public")).toBe(true);
  await s.getKey({ alg: "ES256", kid: "es-1" });
  expect(idp.hits).toEqual({ discovery: 1, jwks: 1 });
  expect(s.stats()).toMatchObject({ fetches: 1, failures: 0, keyCount: 2, fetchedAt: t });
});

test("a configured jwksUri skips discovery", async () => {
  const s = source({}, idp.jwksUri);
  await s.getKey(RS);
  expect(idp.hits).toEqual({ discovery: 0, jwks: 1 });
});

test("a discovery document naming another issuer is refused", async () => {
  idp.discoveryHandler = (_req, res) => res.end(JSON.stringify({ issuer: "https://evil.example", jwks_uri: idp.jwksUri }));
  expect(await cause(source().getKey(RS))).toMatch(/different issuer/);
  expect(idp.hits.jwks).toBe(0);
});

test("a discovery jwks_uri that breaks the https policy is refused", async () => {
  idp.discoveryHandler = (_req, res) => res.end(JSON.stringify({ issuer: idp.issuer, jwks_uri: "http://evil.example/jwks" }));
  expect(await cause(source().getKey(RS))).toMatch(/only for loopback/);
});

test("IdP down at start: fail fast, retry no more often than unavailableRetryMs", async () => {
  idp.jwksHandler = (_req, res) => res.writeHead(500).end();
  const s = source({ unavailableRetryMs: 5000 });
  expect(await cause(s.getKey(RS))).toMatch(/HTTP 200, got 500/);
  await Promise.all(Array.from({ length: 20 }, () => expect(s.getKey(RS)).rejects.toBeInstanceOf(JwksUnavailableError)));
  expect(idp.hits.jwks).toBe(1);
  t += 5000;
  idp.jwksHandler = undefined;
  await expect(s.getKey(RS)).resolves.toBeDefined();
  expect(idp.hits.jwks).toBe(2);
  expect(s.stats()).toMatchObject({ fetches: 2, failures: 1 });
});

test("rotation: an unknown kid refetches only after the cooldown", async () => {
  const s = source({ refetchCooldownMs: 30_000 });
  await s.getKey(RS);
  const rotated = await makeTestKey("RS256", "rs-2");
  idp.keys = [...idp.keys, rotated];
  await expect(s.getKey({ alg: "RS256", kid: "rs-2" })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  expect(idp.hits.jwks).toBe(1);
  t += 30_000;
  await expect(s.getKey({ alg: "RS256", kid: "rs-2" })).resolves.toBeDefined();
  expect(idp.hits.jwks).toBe(2);
});

test("a rotation shortly after start-up is picked up at once; kid spraying still costs one fetch per cooldown", async () => {
  const s = source({ refetchCooldownMs: 30_000 });
  await s.getKey(RS);
  idp.keys = [...idp.keys, await makeTestKey("RS256", "rs-2")];
  t += 1_000;
  await expect(s.getKey({ alg: "RS256", kid: "rs-2" })).resolves.toBeDefined();
  expect(idp.hits.jwks).toBe(2);
  t += 1_000;
  for (let i = 0; i < 50; i++) await expect(s.getKey({ alg: "RS256", kid: `spray-${i}` })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  expect(idp.hits.jwks).toBe(2);
  t += 30_000;
  await expect(s.getKey({ alg: "RS256", kid: "spray-x" })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  expect(idp.hits.jwks).toBe(3);
});

test("a failed forced refetch keeps serving the last good keys", async () => {
  const s = source();
  await s.getKey(RS);
  idp.jwksHandler = (_req, res) => res.writeHead(503).end();
  t += 31_000;
  await expect(s.getKey({ alg: "RS256", kid: "new" })).rejects.toBeInstanceOf(JwksUnavailableError);
  await expect(s.getKey(RS)).resolves.toBeDefined();
  // the failed attempt started a new cooldown
  await expect(s.getKey({ alg: "RS256", kid: "new" })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  expect(idp.hits.jwks).toBe(2);
});

test("old keys are refreshed in the background without blocking", async () => {
  const s = source({ maxAgeMs: 60_000 });
  await s.getKey(RS);
  t += 60_000;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  idp.jwksHandler = (_req, res) => void gate.then(() => res.end(JSON.stringify({ keys: idp.keys.map((k) => k.publicJwk) })));
  await expect(s.getKey(RS)).resolves.toBeDefined(); // answered from the current keys while the refresh hangs
  expect(s.stats().fetches).toBe(2);
  await until(() => idp.hits.jwks === 2);
  expect(s.stats().fetchedAt).toBe(t - 60_000);
  release();
  await until(() => s.stats().fetchedAt === t);
  await s.getKey(RS);
  expect(idp.hits.jwks).toBe(2); // fresh again: no further refresh
});

test.each([
  ["too large (content-length)", { maxResponseBytes: 1000 }, (res: import("node:http").ServerResponse) => res.end(JSON.stringify({ keys: [], pad: "x".repeat(5000) })), /larger than 1000/],
  ["too large (chunked)", { maxResponseBytes: 1000 }, (res: import("node:http").ServerResponse) => { res.write(`{"keys":[],"pad":"${"x".repeat(800)}`); res.end(`${"x".repeat(800)}"}`); }, /larger than 1000/],
  ["not JSON", {}, (res: import("node:http").ServerResponse) => res.end("<html>"), /not valid UTF-8 JSON/],
  ["no keys array", {}, (res: import("node:http").ServerResponse) => res.end("{}"), /keys array/],
  ["redirect (not followed)", {}, (res: import("node:http").ServerResponse) => res.writeHead(302, { location: "/realms/other/jwks" }).end(), /got 302/],
  ["too many keys", { maxKeys: 2 }, (res: import("node:http").ServerResponse) => res.end(JSON.stringify({ keys: [idp.keys[0]!.publicJwk, idp.keys[0]!.publicJwk, idp.keys[1]!.publicJwk] })), /more than 2 keys/],
])("JWKS %s → unavailable", async (_name, options, handler, problem) => {
  idp.jwksHandler = (_req, res) => handler(res);
  expect(await cause(source(options).getKey(RS))).toMatch(problem);
});

test("a hanging JWKS endpoint times out", async () => {
  // Never answers; the gateway must give up AND abort the request (no socket left hanging).
  let aborted = 0;
  idp.jwksHandler = (_req, res) => void res.on("close", () => aborted++);
  expect(await cause(source({ fetchTimeoutMs: 200 }).getKey(RS))).toMatch(/timed out after 200 ms/);
  while (aborted === 0) await new Promise((r) => setTimeout(r, 10));
  expect(aborted).toBe(1);
});

test("private, symmetric and short RSA keys are never trusted", async () => {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const priv = { ...(await exportJWK(privateKey)), kid: "priv", alg: "RS256" };
  // jose refuses to make a 1024-bit key; node:crypto still can (an IdP might still publish one).
  const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" });
  const smallJwk = { ...small, kid: "small", alg: "RS256" };
  const oct = { kty: "oct", k: "c2VjcmV0", kid: "hmac", alg: "HS256" };
  idp.jwksHandler = (_req, res) => res.end(JSON.stringify({ keys: [idp.keys[0]!.publicJwk, priv, smallJwk, oct] }));
  const s = source();
  await expect(s.getKey(RS)).resolves.toBeDefined();
  expect(s.stats().keyCount).toBe(1);
  await expect(s.getKey({ alg: "RS256", kid: "priv" })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  await expect(s.getKey({ alg: "RS256", kid: "small" })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  // Even asked directly, a JWKS never yields an HMAC key (jose refuses secret algorithms here).
  await expect(s.getKey({ alg: "HS256", kid: "hmac" })).rejects.toBeInstanceOf(errors.JOSENotSupported);
});

test("plain http needs the explicit option", () => {
  expect(() => createJwksSource({ issuer: idp.issuer, jwksUri: undefined })).toThrow(/issuer must use https/);
  expect(() => createJwksSource({ issuer: "https://x.example", jwksUri: idp.jwksUri })).toThrow(/jwksUri must use https/);
  expect(() => createJwksSource({ issuer: "http://idp.internal", jwksUri: undefined }, { allowHttp: "loopback" })).toThrow(/only for loopback/);
});

test("refresh() warms up ahead of the first token", async () => {
  const s = source();
  await s.refresh();
  expect(idp.hits.jwks).toBe(1);
  await s.getKey(RS);
  expect(idp.hits.jwks).toBe(1);
});
