import { randomBytes } from "node:crypto";
import { startIssuer, type Issuer } from "../../demo/issuer.js";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { startGraphqlHarness, type GqlResponse, type GraphqlHarness } from "./testing/harness.js";

/**
 * The admin API through HTTP on a real database (both providers): authentication and
 * scopes, typed errors, transactions, pagination, secrets. Services and validation tables
 * have their own unit tests; this file checks the layers together.
 */
const BOOTSTRAP = randomBytes(32).toString("hex");

const codes = (r: GqlResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

withTestDatabases((db) => {
  let api: GraphqlHarness;
  let issuer: Issuer;
  const admin = (query: string, variables?: Record<string, unknown>) => api.gql<Record<string, any>>(query, variables, BOOTSTRAP);
  const ok = async (query: string, variables?: Record<string, unknown>, token = BOOTSTRAP) => {
    const res = await api.gql<Record<string, any>>(query, variables, token);
    expect(res.errors).toBeUndefined();
    return res.data!;
  };
  const counts = async () => ({
    version: (await api.store.prisma.snapshotVersion.findUnique({ where: { id: 1 } }))!.version,
    audit: await api.store.prisma.adminAudit.count(),
  });

  beforeAll(async () => {
    issuer = await startIssuer();
    api = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP });
  });
  afterAll(async () => {
    await api?.stop();
    await issuer?.stop();
  });

  test("health is public; everything else is UNAUTHENTICATED without valid credentials", async () => {
    expect((await api.gql("{ health { status } }")).data).toEqual({ health: { status: "ok" } });
    for (const token of [undefined, "not-a-jwt", `agt_${"A".repeat(43)}`, "a".repeat(40)]) {
      const res = await api.gql("{ roles { edges { node { id } } } }", {}, token);
      expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
    }
  });

  test("OIDC admins, auditors and plain users get exactly their scopes; suspension locks out", async () => {
    await ok(`mutation($i: CreateIdentityProviderInput!) { createIdentityProvider(input: $i) { identityProvider { id } } }`, {
      i: { issuer: issuer.url, audiences: ["agentgate"], groupMapping: [{ claimValue: "@example.com", group: "staff" }] },
    });
    for (const [role, group] of [["cp-admin", "admins"], ["cp-auditor", "auditors"]]) {
      await ok(`mutation($n: String!) { createRole(input: { name: $n }) { role { id } } }`, { n: role });
      await ok(`mutation($i: BindRoleToGroupInput!) { bindRoleToGroup(input: $i) { roleBinding { id group } } }`, { i: { role, issuer: issuer.url, group } });
    }
    const root = await issuer.mint({ sub: "root", groups: ["admins"] });
    const auditor = await issuer.mint({ sub: "eve", groups: ["auditors"] });
    const user = await issuer.mint({ sub: "joe", groups: ["developers"] });
    const viewer = "{ viewer { actor scopes } }";
    expect((await ok(viewer, {}, root)).viewer).toEqual({ actor: `oidc:${issuer.url}|root`, scopes: ["READ", "WRITE", "AUDIT", "APPROVE"] });
    expect((await ok(viewer, {}, auditor)).viewer.scopes).toEqual(["READ", "AUDIT"]);
    expect((await ok(viewer, {}, user)).viewer.scopes).toEqual([]);

    expect(codes(await api.gql("{ roles { edges { node { name } } } }", {}, user))).toEqual(["FORBIDDEN"]);
    expect((await ok("{ roles { edges { node { name } } } }", {}, auditor)).roles.edges.length).toBeGreaterThanOrEqual(2);
    expect((await ok("{ adminAudit(first: 1) { edges { node { action } } } }", {}, auditor)).adminAudit.edges).toHaveLength(1);
    expect(codes(await api.gql(`mutation { createRole(input: { name: "x" }) { role { id } } }`, {}, auditor))).toEqual(["FORBIDDEN"]);

    const created = await ok(`mutation { createRole(input: { name: "made-by-root" }) { role { id } } }`, {}, root);
    const audit = await ok(`query($t: String) { adminAudit(filter: { target: $t }) { edges { node { actor action after } } } }`, { t: `Role:${created.createRole.role.id}` });
    expect(audit.adminAudit.edges[0].node).toMatchObject({ actor: `oidc:${issuer.url}|root`, action: "role.create", after: { name: "made-by-root" } });

    const suspend = await ok(`mutation($i: IdentityRefInput!) { suspendIdentity(identity: $i) { identity { status } snapshotVersion } }`, { i: { issuer: issuer.url, subject: "root" } });
    expect(suspend.suspendIdentity.identity.status).toBe("SUSPENDED");
    expect(api.publisher.current()!.suspendedIdentities).toEqual([{ issuer: issuer.url, subject: "root", $typeName: expect.any(String) }]);
    expect(codes(await api.gql(viewer, {}, root))).toEqual(["FORBIDDEN"]);
    const suspended = await ok(`{ identities(filter: { status: SUSPENDED }) { edges { node { issuer subject status } } } }`);
    expect(suspended.identities.edges).toEqual([{ node: { issuer: issuer.url, subject: "root", status: "SUSPENDED" } }]);
    await ok(`mutation($i: IdentityRefInput!) { reactivateIdentity(identity: $i) { identity { status } } }`, { i: { issuer: issuer.url, subject: "root" } });
    expect((await ok(viewer, {}, root)).viewer.scopes).toHaveLength(4);
  });

  test("typed errors: CONFLICT, NOT_FOUND, BAD_USER_INPUT with every problem, and nothing half-written", async () => {
    await ok(`mutation { createRole(input: { name: "dup" }) { role { id } } }`);
    expect(codes(await admin(`mutation { createRole(input: { name: "dup" }) { role { id } } }`))).toEqual(["CONFLICT"]);
    const unknownRole = await admin(`mutation { bindRoleToGroup(input: { role: "nope", issuer: "https://idp.example", group: "g" }) { roleBinding { id } } }`);
    expect(codes(unknownRole)).toEqual(["NOT_FOUND"]);
    expect(unknownRole.errors![0]!.message).toBe('role "nope" not found');
    expect(codes(await admin(`mutation { deletePolicy(id: "missing") { id } }`))).toEqual(["NOT_FOUND"]);

    const before = await counts();
    const bad = await admin(`mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { policy { id } } }`, {
      i: { name: "bad policy", role: "ghost", connection: "nowhere", graphs: ["ok", "bad graph"], operations: ["runs:fly"], denylist: [{ pattern: "(a)\\1" }], limits: { burst: -1 } },
    });
    expect(codes(bad)).toEqual(["BAD_USER_INPUT"]);
    const problems = bad.errors![0]!.extensions!.problems!;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("name must be"),
        expect.stringContaining('invalid glob "bad graph"'),
        expect.stringContaining('unknown operation "runs:fly"'),
        expect.stringContaining("RE2 syntax"),
        expect.stringContaining("limits.burst"),
        // References are checked in the same round as the fields.
        expect.stringContaining('unknown role "ghost"'),
        expect.stringContaining('unknown connection "nowhere"'),
      ]),
    );
    // Reference problems come from inside the transaction, which rolls back.
    await ok(`mutation { createConnection(input: { name: "c-ref", baseUrl: "http://127.0.0.1:1" }) { connection { id } } }`);
    const after = await counts();
    const refs = await admin(`mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { policy { id } } }`, {
      i: { name: "refs", role: "ghost", connection: "c-ref", graphs: ["*"], operations: ["*"], maskingProfile: "none", approval: { required: true, approverRoles: ["nobody"] } },
    });
    expect(refs.errors![0]!.extensions!.problems).toEqual(['policy: unknown role "ghost"', 'policy: unknown masking profile "none"', 'approval.approverRoles: unknown role "nobody"']);
    expect(await counts()).toEqual(after);
    expect(after.version).toBe(before.version + 1n);
    expect(await api.store.prisma.policy.count({ where: { name: "refs" } })).toBe(0);
  });

  test("a connection's credential is encrypted at rest and never returned", async () => {
    const secret = `sk-${randomBytes(12).toString("hex")}`;
    const fields = "id name baseUrl credentialHeader credentialSet";
    const created = await admin(`mutation($i: CreateConnectionInput!) { createConnection(input: $i) { connection { ${fields} } } }`, {
      i: { name: "upstream", baseUrl: "http://127.0.0.1:9", credential: secret, credentialHeader: "X-Api-Key" },
    });
    expect(created.data!.createConnection.connection).toMatchObject({ credentialSet: true, credentialHeader: "x-api-key" });
    const id = created.data!.createConnection.connection.id as string;
    const everything = [
      created,
      await admin(`{ connections { edges { node { ${fields} } } } connection(id: "${id}") { ${fields} } }`),
      await admin(`{ adminAudit(first: 100) { edges { node { before after } } } }`),
    ];
    for (const res of everything) expect(JSON.stringify(res)).not.toContain(secret);
    const row = await api.store.prisma.connection.findUniqueOrThrow({ where: { id } });
    expect(row.credentialCiphertext).not.toContain(secret);
    expect(api.secrets.decrypt(row.credentialCiphertext!)).toBe(secret);
    expect(api.publisher.current()!.connections.find((c) => c.id === id)!.credential).toBe(secret);

    const bad = await admin(`mutation { updateConnection(id: "${id}", input: { credential: "a\\r\\nb: c" }) { connection { id } } }`);
    expect(codes(bad)).toEqual(["BAD_USER_INPUT"]);
    const cleared = await admin(`mutation { updateConnection(id: "${id}", input: { credential: null }) { connection { credentialSet } } }`);
    expect(cleared.data!.updateConnection.connection.credentialSet).toBe(false);
  });

  test("policies round-trip every field and reach the snapshot at the version they report", async () => {
    await ok(`mutation { createRole(input: { name: "analyst" }) { role { id } } }`);
    await ok(`mutation { createRole(input: { name: "approvers" }) { role { id } } }`);
    await ok(`mutation { createConnection(input: { name: "lg", baseUrl: "http://127.0.0.1:9" }) { connection { id } } }`);
    const badProfile = await admin(`mutation { createMaskingProfile(input: { name: "p", rules: [{ kind: "regex", match: "a(?=b)" }, { kind: "voodoo", match: "a", style: "blur" }] }) { maskingProfile { id } } }`);
    expect(badProfile.errors![0]!.extensions!.problems).toHaveLength(3);
    await ok(`mutation { createMaskingProfile(input: { name: "pii", rules: [{ kind: "detector", match: "email" }, { kind: "key", match: "password", style: "partial", label: "pw" }] }) { maskingProfile { id } } }`);
    const input = {
      name: "analysts-run",
      description: "analysts may run echo",
      role: "analyst",
      connection: "lg",
      graphs: ["echo", "support-*"],
      operations: ["runs:wait", "threads:*"],
      maskingProfile: "pii",
      maskRequests: false,
      limits: { requestsPerMinute: 60, burst: 10, concurrentRuns: 2, costBudgetPerDay: 12.5, maxBodyBytes: 65536, maxRecursionLimit: 25, costPerRun: [{ graph: "echo", cost: 0.5 }], costPer1kTokens: 0.02 },
      denylist: [{ pattern: "DROP\\s+TABLE", message: "no SQL" }, { id: "ssn", pattern: "\\d{3}-\\d{2}-\\d{4}", path: "input.text" }],
      approval: { required: true, approverRoles: ["approvers"], grantTtlSeconds: 600, grantUses: 3 },
    };
    const fields = `id name description role { name } connection { name } graphs operations maskingProfile { name } maskRequests
      limits { requestsPerMinute burst concurrentRuns costBudgetPerDay maxBodyBytes maxRecursionLimit costPerRun { graph cost } costPer1kTokens }
      denylist { id pattern path message } approval { required approverRoles grantTtlSeconds grantUses }`;
    const created = await ok(`mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { policy { ${fields} } snapshotVersion } }`, { i: input });
    const policy = created.createPolicy.policy;
    expect(policy).toMatchObject({ ...input, role: { name: "analyst" }, connection: { name: "lg" }, maskingProfile: { name: "pii" } });
    expect(policy.denylist).toEqual([
      { id: "rule-1", pattern: "DROP\\s+TABLE", path: "", message: "no SQL" },
      { id: "ssn", pattern: "\\d{3}-\\d{2}-\\d{4}", path: "input.text", message: "" },
    ]);
    const snapshot = api.publisher.current()!;
    expect(String(snapshot.version)).toBe(created.createPolicy.snapshotVersion);
    expect(snapshot.policies.find((p) => p.name === "analysts-run")).toMatchObject({ role: "analyst", graphs: ["echo", "support-*"], limits: { requestsPerMinute: 60, maxBodyBytes: 65536n, costPerRun: { echo: 0.5 } } });

    // Partial update: what is not given stays; limits given are complete (the rest is 0).
    const updated = await ok(`mutation($id: ID!) { updatePolicy(id: $id, input: { graphs: ["echo"], limits: { requestsPerMinute: 5 } }) { policy { ${fields} } } }`, { id: policy.id });
    expect(updated.updatePolicy.policy).toMatchObject({ graphs: ["echo"], operations: input.operations, maskingProfile: { name: "pii" }, limits: { requestsPerMinute: 5, burst: 0, costPerRun: [] } });
    expect(codes(await admin(`mutation { deleteMaskingProfile(id: "${(await api.store.prisma.maskingProfile.findUniqueOrThrow({ where: { name: "pii" } })).id}") { id } }`))).toEqual(["CONFLICT"]);
    expect(codes(await admin(`mutation { deleteRole(id: "${(await api.store.prisma.role.findUniqueOrThrow({ where: { name: "analyst" } })).id}") { id } }`))).toEqual(["CONFLICT"]);
    const removed = await ok(`mutation($id: ID!) { deletePolicy(id: $id) { id snapshotVersion } }`, { id: policy.id });
    expect(api.publisher.current()!.policies.some((p) => p.name === "analysts-run")).toBe(false);
    expect(String(api.publisher.current()!.version)).toBe(removed.deletePolicy.snapshotVersion);
  });

  test("pagination walks every row once, newest audit first; bad arguments are BAD_USER_INPUT", async () => {
    for (let i = 0; i < 5; i++) await ok(`mutation($n: String!) { createRole(input: { name: $n }) { role { id } } }`, { n: `page-${i}` });
    const all = (await ok("{ roles(first: 100) { edges { node { name } } } }")).roles.edges.map((e: any) => e.node.name);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await ok(`query($after: String) { roles(first: 2, after: $after) { edges { node { name } } pageInfo { endCursor hasNextPage } } }`, { after })).roles;
      seen.push(...page.edges.map((e: any) => e.node.name));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
    const audit = (await ok("{ adminAudit(first: 3) { edges { node { at } } } }")).adminAudit.edges.map((e: any) => Date.parse(e.node.at));
    expect([...audit].sort((a, b) => b - a)).toEqual(audit);
    expect(codes(await admin("{ roles(first: 101) { edges { cursor } } }"))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await admin(`{ roles(after: "garbage") { edges { cursor } } }`))).toEqual(["BAD_USER_INPUT"]);
  });

  test("API tokens: secret shown once, scoped, no escalation, revocable, marked used", async () => {
    const create = `mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret apiToken { id name prefix scopes expiresAt } } }`;
    const made = (await ok(create, { i: { name: "ci-read", scopes: ["READ"], expiresInSeconds: 3600 } })).createApiToken;
    expect(made.secret).toMatch(/^agt_[A-Za-z0-9_-]{43}$/);
    expect(made.apiToken.prefix).toBe(made.secret.slice(0, 12));
    const listed = await admin("{ apiTokens { edges { node { id name prefix scopes lastUsedAt revokedAt } } } }");
    expect(JSON.stringify(listed)).not.toContain(made.secret);
    const stored = await api.store.prisma.apiToken.findUniqueOrThrow({ where: { id: made.apiToken.id } });
    expect(stored.secretHash).not.toContain(made.secret.slice(4));
    expect(stored.lastUsedAt).toBeNull();

    expect((await ok("{ roles { edges { node { name } } } }", {}, made.secret)).roles.edges.length).toBeGreaterThan(0);
    expect(codes(await api.gql(`mutation { createRole(input: { name: "by-token" }) { role { id } } }`, {}, made.secret))).toEqual(["FORBIDDEN"]);
    expect(codes(await api.gql("{ adminAudit { edges { cursor } } }", {}, made.secret))).toEqual(["FORBIDDEN"]);
    expect((await api.store.prisma.apiToken.findUniqueOrThrow({ where: { id: made.apiToken.id } })).lastUsedAt).not.toBeNull();

    const writer = (await ok(create, { i: { name: "ci-write", scopes: ["WRITE", "READ"] } })).createApiToken.secret;
    const escalate = await api.gql(create, { i: { name: "sneaky", scopes: ["AUDIT"] } }, writer);
    expect(codes(escalate)).toEqual(["FORBIDDEN"]);
    expect(codes(await api.gql(`mutation { createRole(input: { name: "cp-admin" }) { role { id } } }`, {}, writer))).toEqual(["FORBIDDEN"]);
    expect(codes(await admin(create, { i: { name: "ci-read", scopes: ["READ"] } }))).toEqual(["CONFLICT"]);
    expect(codes(await admin(create, { i: { name: "forever", scopes: ["READ"], expiresInSeconds: 10 * 366 * 86400 } }))).toEqual(["BAD_USER_INPUT"]);

    await ok(`mutation($id: ID!) { revokeApiToken(id: $id) { apiToken { revokedAt } } }`, { id: made.apiToken.id });
    const revoked = await api.gql("{ roles { edges { cursor } } }", {}, made.secret);
    expect(codes(revoked)).toEqual(["UNAUTHENTICATED"]);
    expect(revoked.errors![0]!.message).toBe("API token revoked");
  });

  test("the cost limit refuses an expensive operation before it runs (depth: see limits.test.ts)", async () => {
    const wide = await admin("{ roles(first: 100) { edges { node { bindings(first: 100) { edges { node { id group issuer createdAt } } } } } } }");
    expect(codes(wide)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(wide.errors![0]!.message).toMatch(/the limit is 20000/);
    expect(wide.data).toBeUndefined();
  });
});
