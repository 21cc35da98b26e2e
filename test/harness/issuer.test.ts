/** The dev OIDC issuer: discovery, JWKS, minting, rotation, the dev token endpoint. */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTVerifyGetKey } from "jose";
import { startIssuer, type Issuer } from "../../demo/issuer.js";

let issuer: Issuer;

beforeAll(async () => {
  issuer = await startIssuer({ audience: "agentgate-test" });
});

afterAll(async () => {
  await issuer?.stop();
});

/** Discover the JWKS the way a relying party does, with a fresh cache. */
async function discoveredKeys(): Promise<JWTVerifyGetKey> {
  const doc = (await (await fetch(issuer.discoveryUrl)).json()) as Record<string, unknown>;
  return createRemoteJWKSet(new URL(String(doc["jwks_uri"])));
}

const verify = async (token: string) =>
  jwtVerify(token, await discoveredKeys(), { issuer: issuer.url, audience: "agentgate-test" });

test("serves a discovery document", async () => {
  const response = await fetch(issuer.discoveryUrl);
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({
    issuer: issuer.url,
    jwks_uri: issuer.jwksUri,
    token_endpoint: issuer.tokenEndpoint,
    id_token_signing_alg_values_supported: ["RS256", "ES256"],
  });
});

test("serves RS256 and ES256 public keys with kids, and nothing private", async () => {
  const { keys } = (await (await fetch(issuer.jwksUri)).json()) as { keys: Array<Record<string, unknown>> };
  expect(keys.map((k) => k["alg"]).sort()).toEqual(["ES256", "RS256"]);
  for (const key of keys) {
    expect(typeof key["kid"]).toBe("string");
    expect(key["d"]).toBeUndefined();
  }
});

test.each(["RS256", "ES256"] as const)("a minted %s token verifies through discovery + JWKS", async (alg) => {
  const token = await issuer.mint({ sub: "alice", email: "alice@example.com", groups: ["admins"], alg });
  expect(decodeProtectedHeader(token)).toMatchObject({ alg, kid: issuer.currentKids[alg] });
  const { payload } = await verify(token);
  expect(payload).toMatchObject({ iss: issuer.url, sub: "alice", aud: "agentgate-test", email: "alice@example.com", groups: ["admins"] });
  expect(payload.exp! - payload.iat!).toBe(3600);
  expect(typeof payload.jti).toBe("string");
});

test("mint options: expiry, audience and claim overrides", async () => {
  await expect(verify(await issuer.mint({ sub: "bob", expiresIn: -60 }))).rejects.toMatchObject({ code: "ERR_JWT_EXPIRED" });
  await expect(verify(await issuer.mint({ sub: "bob", aud: "other" }))).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
  const foreign = await issuer.mint({ sub: "bob", claims: { iss: "https://evil.example" } });
  await expect(verify(foreign)).rejects.toMatchObject({ claim: "iss" });
  const { payload } = await verify(await issuer.mint({ sub: "bob", claims: { roles: ["approver"], exp: undefined } }));
  expect(payload["roles"]).toEqual(["approver"]);
  expect(payload.exp).toBeUndefined();
});

test("rotate: new kid signs, old tokens keep verifying until dropped", async () => {
  const before = await issuer.mint({ sub: "carol" });
  const oldKid = issuer.currentKids.RS256;
  const kids = await issuer.rotate();
  expect(kids.RS256).not.toBe(oldKid);
  const after = await issuer.mint({ sub: "carol" });
  expect(decodeProtectedHeader(after).kid).toBe(kids.RS256);
  await expect(verify(before)).resolves.toBeDefined();
  await expect(verify(after)).resolves.toBeDefined();
  expect(issuer.jwks().keys).toHaveLength(4);

  await issuer.rotate({ dropPrevious: true });
  expect(issuer.jwks().keys).toHaveLength(2);
  await expect(verify(after)).rejects.toMatchObject({ code: "ERR_JWKS_NO_MATCHING_KEY" });
});

test("dev token endpoint mints a token from a form post", async () => {
  const response = await fetch(issuer.tokenEndpoint, {
    method: "POST",
    body: new URLSearchParams({ sub: "dave", groups: "admins, devs", email: "dave@example.com", alg: "ES256" }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
  const { payload, protectedHeader } = await verify(String(body["access_token"]));
  expect(protectedHeader.alg).toBe("ES256");
  expect(payload).toMatchObject({ sub: "dave", groups: ["admins", "devs"], email: "dave@example.com" });
});

test("dev token endpoint rejects bad input", async () => {
  const post = (fields: Record<string, string>) =>
    fetch(issuer.tokenEndpoint, { method: "POST", body: new URLSearchParams(fields) }).then((r) => r.status);
  expect(await post({})).toBe(400);
  expect(await post({ sub: "x", alg: "none" })).toBe(400);
  expect(await post({ sub: "x", expires_in: "-1" })).toBe(400);
  expect((await fetch(`${issuer.url}/nope`)).status).toBe(404);
});

test("counts requests (to check a relying party's JWKS cache)", async () => {
  const jwks = issuer.stats.jwks;
  const getKey = createRemoteJWKSet(new URL(issuer.jwksUri));
  for (let i = 0; i < 3; i++) {
    await jwtVerify(await issuer.mint({ sub: "erin" }), getKey, { audience: "agentgate-test" });
  }
  expect(issuer.stats.jwks).toBe(jwks + 1);
});

test("token endpoint can be turned off", async () => {
  const quiet = await startIssuer({ tokenEndpoint: false });
  try {
    const response = await fetch(quiet.tokenEndpoint, { method: "POST", body: new URLSearchParams({ sub: "x" }) });
    expect(response.status).toBe(404);
    expect(quiet.audience).toBe("agentgate");
  } finally {
    await quiet.stop();
  }
});

test("keys kept in a file survive a restart (same kids, old tokens verify), and the file is owner-only", async () => {
  const { mkdtempSync, rmSync, statSync, readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "issuer-keys-"));
  const keysFile = join(dir, "keys.json");
  try {
    const first = await startIssuer({ keysFile });
    const token = await first.mint({ sub: "alice", alg: "ES256" });
    const kids = first.currentKids;
    const port = Number(new URL(first.url).port);
    await first.stop();
    expect(statSync(keysFile).mode & 0o077).toBe(0);
    // The public JWKS never carries the private parts kept in the file.
    expect(readFileSync(keysFile, "utf8")).toContain('"d"');

    const second = await startIssuer({ keysFile, port });
    try {
      expect(second.currentKids).toEqual(kids);
      expect(JSON.stringify(second.jwks())).not.toContain('"d"');
      const keys = createRemoteJWKSet(new URL(second.jwksUri));
      await expect(jwtVerify(token, keys, { issuer: second.url })).resolves.toMatchObject({ payload: { sub: "alice" } });
    } finally {
      await second.stop();
    }
    // Without the file, a new issuer has other keys.
    const other = await startIssuer();
    expect(other.currentKids).not.toEqual(kids);
    await other.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
