import { randomBytes } from "node:crypto";
import { startIssuer, type Issuer } from "../../demo/issuer.js";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { bumpSnapshotVersion } from "../store/snapshot-version.js";
import { openStore, type Store } from "../store/client.js";
import { generateApiTokenSecret } from "./api-token-secret.js";
import { createAdminAuthenticator, type AdminAuthenticator } from "./authenticator.js";
import type { AuthResult } from "./principal.js";

const BOOTSTRAP = randomBytes(24).toString("base64url");
const scopesOf = (r: AuthResult) => (r.ok ? [...r.principal.scopes].sort() : r.code);

withTestDatabases((db) => {
  let store: Store;
  let issuer: Issuer;
  let auth: AdminAuthenticator;
  const bearer = (token: string) => auth.authenticate(`Bearer ${token}`);
  const bump = () => store.prisma.$transaction((tx) => bumpSnapshotVersion(tx));

  beforeAll(async () => {
    store = await openStore(db.url);
    issuer = await startIssuer();
    auth = createAdminAuthenticator({ db: store.prisma, bootstrapToken: BOOTSTRAP, allowHttpIssuers: "loopback" });
    await store.prisma.identityProvider.create({ data: { issuer: issuer.url, audiences: ["agentgate"], allowedAlgorithms: ["RS256", "ES256"], groupMapping: {} } });
    const admin = await store.prisma.role.create({ data: { name: "cp-admin" } });
    const auditor = await store.prisma.role.create({ data: { name: "cp-auditor" } });
    const ordinary = await store.prisma.role.create({ data: { name: "developer" } });
    await store.prisma.roleBinding.create({ data: { roleId: admin.id, issuer: issuer.url, group: "admins" } });
    await store.prisma.roleBinding.create({ data: { roleId: ordinary.id, issuer: issuer.url, group: "devs" } });
    const eve = await store.prisma.identity.create({ data: { issuer: issuer.url, subject: "eve", groups: [] } });
    await store.prisma.roleBinding.create({ data: { roleId: auditor.id, identityId: eve.id } });
    await bump();
  });
  afterAll(async () => {
    await issuer?.stop();
    await store?.close();
  });

  test("no or malformed credentials are UNAUTHENTICATED", async () => {
    expect(await auth.authenticate(undefined)).toEqual({ ok: false, code: "UNAUTHENTICATED", message: "authentication required" });
    expect(scopesOf(await auth.authenticate("Basic YWxhZGRpbjpvcGVu"))).toBe("UNAUTHENTICATED");
    expect(scopesOf(await auth.authenticate(["Bearer a", "Bearer b"]))).toBe("UNAUTHENTICATED");
  });

  test("the bootstrap token is a full admin; a near miss is nothing", async () => {
    const ok = await bearer(BOOTSTRAP);
    expect(ok.ok && ok.principal.actor).toBe("token:$bootstrap");
    expect(scopesOf(ok)).toEqual(["approve", "audit", "read", "write"]);
    expect(scopesOf(await bearer(BOOTSTRAP.slice(0, -1) + (BOOTSTRAP.endsWith("a") ? "b" : "a")))).toBe("UNAUTHENTICATED");
    expect(() => createAdminAuthenticator({ db: store.prisma, bootstrapToken: "too-short" })).toThrow(/at least 32/);
  });

  test("OIDC tokens map to scopes through reserved-role bindings (group or identity)", async () => {
    const root = await bearer(await issuer.mint({ sub: "root", groups: ["admins", "devs"] }));
    expect(root.ok && root.principal.actor).toBe(`oidc:${issuer.url}|root`);
    expect(scopesOf(root)).toEqual(["approve", "audit", "read", "write"]);
    expect(scopesOf(await bearer(await issuer.mint({ sub: "eve", groups: [] })))).toEqual(["audit", "read"]);
    // Authenticated, but no control-plane role: no scopes (resolvers answer FORBIDDEN).
    const dev = await bearer(await issuer.mint({ sub: "dan", groups: ["devs"] }));
    expect(dev.ok && dev.principal.kind).toBe("oidc");
    expect(scopesOf(dev)).toEqual([]);
    expect(scopesOf(await bearer(await issuer.mint({ sub: "root", groups: ["admins"], expiresIn: "-5m" })))).toBe("UNAUTHENTICATED");
    expect(scopesOf(await bearer(await issuer.mint({ sub: "root", groups: ["admins"], aud: "someone-else" })))).toBe("UNAUTHENTICATED");
  });

  test("changes take effect when the snapshot version moves, not before", async () => {
    const token = await issuer.mint({ sub: "newbie", groups: ["auditors"] });
    expect(scopesOf(await bearer(token))).toEqual([]);
    const role = await store.prisma.role.findUniqueOrThrow({ where: { name: "cp-auditor" } });
    await store.prisma.roleBinding.create({ data: { roleId: role.id, issuer: issuer.url, group: "auditors" } });
    // Every real write bumps the version in its transaction; without a bump the cache stands.
    expect(scopesOf(await bearer(token))).toEqual([]);
    await bump();
    expect(scopesOf(await bearer(token))).toEqual(["audit", "read"]);

    await store.prisma.identity.upsert({ where: { issuer_subject: { issuer: issuer.url, subject: "newbie" } }, create: { issuer: issuer.url, subject: "newbie", groups: [], status: "suspended" }, update: { status: "suspended" } });
    await bump();
    expect(await bearer(token)).toEqual({ ok: false, code: "FORBIDDEN", message: "identity suspended" });
  });

  test("an identity provider this control plane may not use locks out only its own users", async () => {
    const strict = createAdminAuthenticator({ db: store.prisma, allowHttpIssuers: "never" });
    expect(scopesOf(await strict.authenticate(`Bearer ${await issuer.mint({ sub: "root", groups: ["admins"] })}`))).toBe("UNAUTHENTICATED");
  });

  test("API tokens: scopes, expiry, revocation, unknown secrets with a known prefix", async () => {
    const now = Date.now();
    const make = async (name: string, extra: { expiresAt?: Date; revokedAt?: Date } = {}) => {
      const s = generateApiTokenSecret();
      await store.prisma.apiToken.create({ data: { name, secretHash: s.secretHash, prefix: s.prefix, scopes: ["read", "bogus"], createdBy: "test", ...extra } });
      return s.token;
    };
    const good = await make("good", { expiresAt: new Date(now + 60_000) });
    const result = await bearer(good);
    expect(result.ok && result.principal.actor).toBe("token:good");
    expect(scopesOf(result)).toEqual(["read"]);
    const used = (await store.prisma.apiToken.findUniqueOrThrow({ where: { name: "good" } })).lastUsedAt;
    expect(used).not.toBeNull();
    await bearer(good);
    // Throttled: a second use within a minute does not write again.
    expect((await store.prisma.apiToken.findUniqueOrThrow({ where: { name: "good" } })).lastUsedAt).toEqual(used);

    expect(await bearer(await make("old", { expiresAt: new Date(now - 1000) }))).toMatchObject({ ok: false, code: "UNAUTHENTICATED", message: "API token expired" });
    expect(await bearer(await make("gone", { revokedAt: new Date(now - 1000) }))).toMatchObject({ ok: false, code: "UNAUTHENTICATED", message: "API token revoked" });
    const forged = good.slice(0, 12) + "A".repeat(good.length - 12);
    expect(await bearer(forged)).toMatchObject({ ok: false, code: "UNAUTHENTICATED", message: "invalid API token" });
  });
});
