import { randomBytes } from "node:crypto";
import { startIssuer, type Issuer } from "../../demo/issuer.js";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { startGraphqlHarness, type GqlResponse, type GraphqlHarness } from "../graphql/testing/harness.js";
import { buildSnapshot } from "../snapshot/compile.js";
import { gatewayKeySource } from "../snapshot/gateway-keys.js";
import { SecretBox } from "../secrets.js";
import { consumeGrant, DEFAULT_APPROVAL_REQUEST_TTL_SECONDS, requestApproval } from "./service.js";

/**
 * Approvals that mean what they say, attacked through the GraphQL API on both databases:
 * approverRoles are enforced, nobody decides their own request through any credential
 * they own or minted, approve/deny is one compare-and-set, suspension revokes minted tokens.
 * Every case reads the request row and the audit log, not only the answer.
 */
const BOOTSTRAP = randomBytes(32).toString("hex");
const APPROVE = `mutation($id: ID!) { approveRequest(id: $id) { status reviewer } }`;
const DENY = `mutation($id: ID!) { denyRequest(id: $id) { status reviewer } }`;
const codes = (r: GqlResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

withTestDatabases((db) => {
  let api: GraphqlHarness;
  let issuer: Issuer;
  let connectionId: string;
  let policyId: string;
  const prisma = () => api.store.prisma;
  const admin = async (query: string, variables: Record<string, unknown> = {}, token = BOOTSTRAP) => {
    const res = await api.gql<Record<string, any>>(query, variables, token);
    expect(res.errors).toBeUndefined();
    return res.data!;
  };
  const mintToken = async (by: string, name: string, scopes: string[]) =>
    (await admin(`mutation($n: String!, $s: [Scope!]!) { createApiToken(input: { name: $n, scopes: $s }) { secret } }`, { n: name, s: scopes }, by)).createApiToken.secret as string;
  const fileRequest = async (subject: string) =>
    (await requestApproval(prisma(), { proxyId: "p1", issuer: issuer.url, subject, email: "", connectionId, graph: `g-${randomBytes(4).toString("hex")}`, operation: "runs:wait", parametersJson: "{}", reason: "", policyId })).id;
  const row = (id: string) => prisma().approvalRequest.findUniqueOrThrow({ where: { id } });
  const auditOf = (id: string) => prisma().adminAudit.findMany({ where: { target: `ApprovalRequest:${id}` } });

  beforeAll(async () => {
    issuer = await startIssuer();
    api = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP });
    await admin(`mutation($i: CreateIdentityProviderInput!) { createIdentityProvider(input: $i) { identityProvider { id } } }`, { i: { issuer: issuer.url, audiences: ["agentgate"] } });
    const res = await api.gql<Record<string, any>>(
      `mutation($y: String!) { applyPolicyFile(yaml: $y) { changes { action } } }`,
      {
        y: `
roles:
  - { name: cp-admin, bindings: [{ issuer: "${issuer.url}", group: admins }] }
  - { name: cp-approver, bindings: [{ issuer: "${issuer.url}", group: approvers }] }
  - { name: payment-approvers, bindings: [{ issuer: "${issuer.url}", group: payments }] }
  - { name: runner, bindings: [{ issuer: "${issuer.url}", group: runners }] }
connections: [{ name: lg, baseUrl: "https://lg.example" }]
policies:
  - { name: gated, role: runner, connection: lg, graphs: ["*"], operations: ["runs:*"], approval: { required: true, approverRoles: [payment-approvers] } }
`,
      },
      BOOTSTRAP,
    );
    expect(res.errors).toBeUndefined();
    connectionId = (await prisma().connection.findUniqueOrThrow({ where: { name: "lg" } })).id;
    policyId = (await prisma().policy.findUniqueOrThrow({ where: { name: "gated" } })).id;
  });
  afterAll(async () => {
    await api?.stop();
    await issuer?.stop();
  });

  test("only an identity holding one of the policy's approverRoles decides; the approve scope alone is not enough", async () => {
    const id = await fileRequest("runner-1");
    const approverOnly = await issuer.mint({ sub: "generic-approver", groups: ["approvers"] });
    const approveToken = await mintToken(BOOTSTRAP, "bootstrap-approve", ["APPROVE"]);
    for (const token of [approverOnly, BOOTSTRAP, approveToken]) {
      for (const q of [APPROVE, DENY]) expect(codes(await api.gql(q, { id }, token))).toEqual(["FORBIDDEN"]);
    }
    expect((await row(id)).status).toBe("pending");
    expect(await auditOf(id)).toEqual([]);

    const payments = await issuer.mint({ sub: "pay-approver", groups: ["approvers", "payments"] });
    expect((await admin(APPROVE, { id }, payments)).approveRequest).toEqual({ status: "approved", reviewer: `oidc:${issuer.url}|pay-approver` });
    // A token the payments approver minted acts for them.
    const id2 = await fileRequest("runner-1b");
    const delegated = await mintToken(await issuer.mint({ sub: "pay-admin", groups: ["admins", "payments"] }), "pay-admin-approve", ["APPROVE"]);
    expect((await admin(DENY, { id: id2 }, delegated)).denyRequest.status).toBe("denied");
  });

  test("nobody decides their own request: not directly, not with a token they minted, not with a token minted by that token", async () => {
    const self = await issuer.mint({ sub: "self-admin", groups: ["admins", "payments", "runners"] });
    const id = await fileRequest("self-admin");
    const direct = await mintToken(self, "self-approve", ["APPROVE", "WRITE", "READ"]);
    const nested = await mintToken(direct, "self-approve-nested", ["APPROVE"]);
    for (const token of [self, direct, nested]) {
      for (const q of [APPROVE, DENY]) {
        const res = await api.gql(q, { id }, token);
        expect(codes(res)).toEqual(["FORBIDDEN"]);
        expect(res.errors![0]!.message).toContain("own request");
      }
    }
    expect((await row(id)).status).toBe("pending");
    expect(await auditOf(id)).toEqual([]);
  });

  test("approve and deny fired together: exactly one wins, the other gets CONFLICT; the row and the audit log agree", async () => {
    const a = await issuer.mint({ sub: "race-a", groups: ["approvers", "payments"] });
    const b = await issuer.mint({ sub: "race-b", groups: ["approvers", "payments"] });
    for (let i = 0; i < 12; i++) {
      const id = await fileRequest(`racer-${i}`);
      const [approve, deny] = await Promise.all([api.gql<Record<string, any>>(APPROVE, { id }, a), api.gql<Record<string, any>>(DENY, { id }, b)]);
      const winners = [approve, deny].filter((r) => r.errors === undefined);
      expect(winners).toHaveLength(1);
      expect([...codes(approve), ...codes(deny)]).toEqual(["CONFLICT"]);
      const won = approve.errors === undefined ? "approved" : "denied";
      const stored = await row(id);
      expect(stored.status).toBe(won);
      expect(stored.grantExpiresAt !== null).toBe(won === "approved");
      const audit = await auditOf(id);
      expect(audit.map((x) => x.action)).toEqual([won === "approved" ? "approval.approve" : "approval.deny"]);
    }
  });

  test("suspending an identity revokes the API tokens it minted, and those they minted", async () => {
    const boss = await issuer.mint({ sub: "boss", groups: ["admins"] });
    const child = await mintToken(boss, "boss-child", ["READ", "WRITE"]);
    const grandchild = await mintToken(child, "boss-grandchild", ["READ"]);
    const unrelated = await mintToken(BOOTSTRAP, "unrelated", ["READ"]);
    for (const t of [child, grandchild]) expect(codes(await api.gql("{ roles { edges { node { id } } } }", {}, t))).toEqual([]);
    await admin(`mutation { suspendIdentity(identity: { issuer: "${issuer.url}", subject: "boss" }) { identity { status } } }`);
    const tokens = await prisma().apiToken.findMany({ where: { name: { in: ["boss-child", "boss-grandchild", "unrelated"] } }, orderBy: { name: "asc" } });
    expect(tokens.map((t) => [t.name, t.revokedAt !== null])).toEqual([
      ["boss-child", true],
      ["boss-grandchild", true],
      ["unrelated", false],
    ]);
    for (const t of [boss, child, grandchild]) expect(codes(await api.gql("{ roles { edges { node { id } } } }", {}, t))).not.toEqual([]);
    expect(codes(await api.gql("{ roles { edges { node { id } } } }", {}, unrelated))).toEqual([]);
    const revocations = await prisma().adminAudit.findMany({ where: { action: "apiToken.revoke" } });
    expect(revocations.map((r) => (r.after as { name: string }).name).sort()).toEqual(["boss-child", "boss-grandchild"]);
  });

  test("retroactive: a chain whose root is suspended by a path that revoked nothing (as before revocation existed) is refused at once, down to the grandchild", async () => {
    const chief = await issuer.mint({ sub: "chief", groups: ["admins"] });
    const child = await mintToken(chief, "chief-child", ["READ", "WRITE"]);
    const grandchild = await mintToken(child, "chief-grandchild", ["READ"]);
    const roles = "{ roles { edges { node { id } } } }";
    for (const t of [child, grandchild]) expect(codes(await api.gql(roles, {}, t))).toEqual([]);
    // Suspended in the store directly: no revocation ran, the token rows stay live.
    await prisma().identity.update({ where: { issuer_subject: { issuer: issuer.url, subject: "chief" } }, data: { status: "suspended" } });
    expect(await prisma().apiToken.count({ where: { name: { in: ["chief-child", "chief-grandchild"] }, revokedAt: null } })).toBe(2);
    for (const t of [child, grandchild]) {
      expect(codes(await api.gql(roles, {}, t))).toEqual(["UNAUTHENTICATED"]);
      // Nor can they mint a way out.
      const minted = await api.gql(`mutation { createApiToken(input: { name: "escape-${randomBytes(3).toString("hex")}", scopes: [READ] }) { secret } }`, {}, t);
      expect(codes(minted)).toEqual(["UNAUTHENTICATED"]);
    }
    expect(await prisma().apiToken.count({ where: { name: { startsWith: "escape-" } } })).toBe(0);
  });

  test("tokens minted in a race with the suspension of their chain's root are refused afterwards", async () => {
    const lead = await issuer.mint({ sub: "lead", groups: ["admins"] });
    const child = await mintToken(lead, "lead-child", ["READ", "WRITE"]);
    const mints = Array.from({ length: 8 }, (_, i) =>
      api.gql<Record<string, any>>(`mutation($n: String!) { createApiToken(input: { name: $n, scopes: [READ] }) { secret } }`, { n: `lead-race-${i}` }, child),
    );
    const suspension = admin(`mutation { suspendIdentity(identity: { issuer: "${issuer.url}", subject: "lead" }) { identity { status } } }`);
    const results = await Promise.all(mints);
    await suspension;
    const secrets = results.map((r) => r.data?.createApiToken?.secret as string | undefined).filter((t): t is string => t !== undefined);
    for (const t of [child, ...secrets]) expect(codes(await api.gql("{ roles { edges { node { id } } } }", {}, t))).toEqual(["UNAUTHENTICATED"]);
  });

  test("a grant of N uses is spent exactly N times by concurrent proxies; spent, it leaves the snapshot and a retry files a new request", async () => {
    const id = await fileRequest("limited-runner");
    const filed = await row(id);
    await prisma().approvalRequest.update({ where: { id }, data: { status: "approved", decidedAt: new Date(), grantExpiresAt: new Date(Date.now() + 600_000), grantUsesLeft: 3 } });
    const versionBefore = (await prisma().snapshotVersion.findUniqueOrThrow({ where: { id: 1 } })).version;

    // Ten gated calls through five proxies at once: exactly three get a use.
    const uses = await Promise.all(Array.from({ length: 10 }, (_, i) => consumeGrant(prisma(), { grantId: id, proxyId: `p${i % 5}`, requestId: `req-${i}` })));
    expect(uses.filter((u) => u.granted)).toHaveLength(3);
    expect(uses.filter((u) => u.granted).map((u) => u.usesLeft).sort()).toEqual([0, 1, 2]);
    expect((await row(id)).grantUsesLeft).toBe(0);
    // One audit row per use, naming the proxy and the request; the spending use bumped the version once.
    const useRows = (await auditOf(id)).filter((a) => a.action === "approval.grant.use");
    expect(useRows).toHaveLength(3);
    expect(useRows.every((a) => a.actor.startsWith("proxy:p"))).toBe(true);
    expect((await prisma().snapshotVersion.findUniqueOrThrow({ where: { id: 1 } })).version).toBe(versionBefore + 1n);

    const secrets = SecretBox.fromBase64(randomBytes(32).toString("base64"));
    const snapshot = await buildSnapshot(prisma(), secrets, gatewayKeySource(secrets));
    expect(snapshot.grants.map((g) => g.id)).not.toContain(id);
    expect(await consumeGrant(prisma(), { grantId: id, proxyId: "p0", requestId: "late" })).toEqual({ granted: false, usesLeft: 0 });
    // The caller's next attempt is a new request for a reviewer, not the spent grant again.
    const again = await requestApproval(prisma(), { proxyId: "p1", issuer: issuer.url, subject: "limited-runner", email: "", connectionId, graph: filed.graph, operation: "runs:wait", parametersJson: "{}", reason: "", policyId });
    expect(again).toMatchObject({ status: "pending" });
    expect(again.id).not.toBe(id);
  });

  test("expired, pending, denied and unlimited grants are never spent through consumeGrant", async () => {
    const make = async (data: Record<string, unknown>) => {
      const id = await fileRequest("other-runner");
      await prisma().approvalRequest.update({ where: { id }, data });
      return id;
    };
    const expired = await make({ status: "approved", grantExpiresAt: new Date(Date.now() - 1_000), grantUsesLeft: 2 });
    const pending = await make({ grantUsesLeft: 2 });
    const denied = await make({ status: "denied", grantUsesLeft: 2 });
    const unlimited = await make({ status: "approved", grantExpiresAt: new Date(Date.now() + 600_000), grantUsesLeft: null });
    for (const grantId of [expired, pending, denied, unlimited, "00000000-0000-7000-8000-000000000000"]) {
      expect(await consumeGrant(prisma(), { grantId, proxyId: "p0", requestId: "r" })).toEqual({ granted: false, usesLeft: 0 });
    }
    expect((await row(expired)).grantUsesLeft).toBe(2);
  });

  test("a request left pending past its TTL expires: not listed as pending, not approvable, not handed back to a retrying caller", async () => {
    const id = await fileRequest("patient-runner");
    const filed = await row(id);
    const reviewer = await issuer.mint({ sub: "late-reviewer", groups: ["approvers", "payments"] });
    // Filed more than 24 h ago (the default TTL).
    await prisma().approvalRequest.update({ where: { id }, data: { createdAt: new Date(Date.now() - (DEFAULT_APPROVAL_REQUEST_TTL_SECONDS + 60) * 1_000) } });
    const versionBefore = (await prisma().snapshotVersion.findUniqueOrThrow({ where: { id: 1 } })).version;

    const pending = await admin(`{ approvalRequests(status: "pending", first: 100) { edges { node { id } } } }`);
    expect(pending.approvalRequests.edges.map((e: any) => e.node.id)).not.toContain(id);
    const late = await api.gql(APPROVE, { id }, reviewer);
    expect(codes(late)).toEqual(["CONFLICT"]);
    expect(late.errors![0]!.message).toMatch(/expired/);
    expect(await row(id)).toMatchObject({ status: "expired", grantExpiresAt: null, reviewer: null });
    expect((await auditOf(id)).filter((a) => a.action.startsWith("approval.approve"))).toHaveLength(0);
    expect((await prisma().snapshotVersion.findUniqueOrThrow({ where: { id: 1 } })).version).toBe(versionBefore);

    const retry = await requestApproval(prisma(), { proxyId: "p1", issuer: issuer.url, subject: "patient-runner", email: "", connectionId, graph: filed.graph, operation: "runs:wait", parametersJson: "{}", reason: "", policyId });
    expect(retry.status).toBe("pending");
    expect(retry.id).not.toBe(id);
    // A fresh request within its TTL is untouched.
    expect(await row(retry.id)).toMatchObject({ status: "pending" });
  });
});
