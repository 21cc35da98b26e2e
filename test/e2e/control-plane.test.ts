import { performance } from "node:perf_hooks";
import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

/**
 * The admin GraphQL API end to end on PostgreSQL: the bootstrap file only trusts the dev
 * issuer and makes group `admins` cp-admin; everything else (role, binding, connection
 * with the upstream key, policy) is created through GraphQL by an OIDC admin, then
 * enforced by a real proxy in front of the real LangGraph server, called with the SDK.
 */
function adminsOnly(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [{ name: "cp-admin", bindings: [{ issuer: input.issuerUrl, group: "admins" }] }],
  });
}

interface Gql {
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

let stack: Stack;
let e2e: E2eStack;
let root: string;
let member: string;
let policyId: string;
const latencies: Record<string, { mutationMs: number; enforcedMs: number }> = {};

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Gql> {
  const res = await fetch(stack.graphqlUrl(), {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Gql;
}

async function ok(query: string, variables: Record<string, unknown> = {}, token = root): Promise<Record<string, any>> {
  const res = await gql(query, variables, token);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const sdk = (token: string) => new Client({ apiUrl: stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
const statusOf = (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { status?: number }) => e.status ?? -1);

/** A cheap call the policy governs (graph echo, assistants:read): the enforcement probe. */
const probe = async (): Promise<number> => {
  const res = await fetch(`${stack.proxyUrl()}/assistants/echo`, { headers: { authorization: `Bearer ${member}` } });
  await res.arrayBuffer();
  return res.status;
};

/**
 * Runs `mutate`, then probes every 10 ms until the proxy answers `status` (fails if it never
 * does within a generous 30 s). The latency is only recorded for the log under `name`, never
 * asserted: speed is measured by `npm run bench`, not by tests.
 */
async function enforcementLatency(name: string, mutate: () => Promise<unknown>, status: number): Promise<number> {
  const start = performance.now();
  await mutate();
  const mutationMs = Math.round(performance.now() - start);
  while (performance.now() - start < 30_000) {
    if ((await probe()) === status) {
      const enforcedMs = Math.round(performance.now() - start);
      latencies[name] = { mutationMs, enforcedMs };
      return enforcedMs;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the proxy did not answer ${status} within 30 s`);
}

/** Waits until the proxy acked `version` (as the proxies query shows it). */
async function proxyAcked(version: string): Promise<Record<string, any>> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const node = (await ok("{ proxies { edges { node { id address ackedVersion connected lastSeen lastError } } } }")).proxies.edges[0]?.node;
    if (node && BigInt(node.ackedVersion ?? 0) >= BigInt(version)) return node;
  }
  throw new Error(`proxy never acked version ${version}`);
}

beforeAll(async () => {
  // The control plane verifies admin tokens of the dev issuer, which serves plain http on loopback.
  e2e = await startE2eStack({ provider: "postgresql", policy: adminsOnly, env: { AGENTGATE_ALLOW_HTTP_ISSUERS: "loopback" } });
  stack = e2e.stack;
  root = await stack.issuer.mint({ sub: "root", groups: ["admins"] });
  member = await stack.issuer.mint({ sub: "ann", groups: ["echo-team"] });
}, 120_000);

afterAll(async () => {
  await e2e?.stop();
  if (Object.keys(latencies).length) console.log(`mutation → proxy enforcement (ms): ${JSON.stringify(latencies)}`);
});

test("an OIDC admin grants access through GraphQL; a group member then runs echo with the SDK", async () => {
  await ok(`mutation { createRole(input: { name: "echo-users" }) { role { id } } }`);
  await ok(`mutation($i: BindRoleToGroupInput!) { bindRoleToGroup(input: $i) { roleBinding { id } } }`, { i: { role: "echo-users", issuer: stack.issuer.url, group: "echo-team" } });
  const connection = await ok(`mutation($i: CreateConnectionInput!) { createConnection(input: $i) { connection { id name credentialSet } snapshotVersion } }`, {
    i: { name: "langgraph", baseUrl: stack.upstream.url, credential: stack.upstream.apiKey },
  });
  expect(connection.createConnection.connection).toMatchObject({ name: "langgraph", credentialSet: true });
  // A role and a connection are not access: deny by default until a policy says so.
  await proxyAcked(connection.createConnection.snapshotVersion);
  expect(await statusOf(sdk(member).runs.wait(null, "echo", { input: { text: "hi" } }))).toBe(403);

  const created = await ok(`mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { policy { id } snapshotVersion } }`, {
    i: { name: "echo-run", role: "echo-users", connection: "langgraph", graphs: ["echo"], operations: ["runs:wait", "assistants:read"] },
  });
  policyId = created.createPolicy.policy.id;
  const node = await proxyAcked(created.createPolicy.snapshotVersion);
  expect(node).toMatchObject({ id: "proxy-1", connected: true, lastError: null });

  const output = await sdk(member).runs.wait(null, "echo", { input: { text: "hello through the gateway" } });
  expect(output).toMatchObject({ text: "hello through the gateway" });
  expect(await probe()).toBe(200);

  // The upstream key went in through GraphQL; nothing the API returns may contain it.
  const everything = await ok(`query($id: ID!) {
    connections { edges { node { id name kind baseUrl credentialHeader credentialSet } } }
    connection(id: $id) { id baseUrl credentialSet }
    adminAudit(first: 100) { edges { node { action target before after } } }
  }`, { id: connection.createConnection.connection.id });
  expect(everything.connection.credentialSet).toBe(true);
  expect(JSON.stringify(everything)).not.toContain(stack.upstream.apiKey);
});

test("changing and then deleting the policy is enforced by the proxy", async () => {
  await enforcementLatency(
    "updatePolicy graphs echo→slow",
    () => ok(`mutation($id: ID!) { updatePolicy(id: $id, input: { graphs: ["slow"] }) { snapshotVersion } }`, { id: policyId }),
    403,
  );
  expect(await statusOf(sdk(member).runs.wait(null, "echo", { input: { text: "no" } }))).toBe(403);

  await enforcementLatency(
    "updatePolicy graphs slow→echo",
    () => ok(`mutation($id: ID!) { updatePolicy(id: $id, input: { graphs: ["echo"] }) { snapshotVersion } }`, { id: policyId }),
    200,
  );
  let version = "";
  await enforcementLatency(
    "deletePolicy",
    async () => {
      version = (await ok(`mutation($id: ID!) { deletePolicy(id: $id) { snapshotVersion } }`, { id: policyId })).deletePolicy.snapshotVersion;
    },
    403,
  );
  expect(await statusOf(sdk(member).runs.wait(null, "echo", { input: { text: "no" } }))).toBe(403);

  // The proxies query shows the version that carries the deletion as applied.
  const node = await proxyAcked(version);
  expect(node.ackedVersion).toBe(version);
  expect((await ok("{ snapshot { version } }")).snapshot.version).toBe(version);
});

test("an API token works until it is revoked", async () => {
  const made = (await ok(`mutation { createApiToken(input: { name: "automation", scopes: [READ], expiresInSeconds: 600 }) { secret apiToken { id } } }`)).createApiToken;
  expect((await ok("{ viewer { actor scopes } }", {}, made.secret)).viewer).toEqual({ actor: "token:automation", scopes: ["READ"] });
  expect((await ok("{ roles { edges { node { name } } } }", {}, made.secret)).roles.edges.map((e: any) => e.node.name)).toEqual(expect.arrayContaining(["cp-admin", "echo-users"]));
  expect((await gql(`mutation { createRole(input: { name: "nope" }) { role { id } } }`, {}, made.secret)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  await ok(`mutation($id: ID!) { revokeApiToken(id: $id) { apiToken { revokedAt } } }`, { id: made.apiToken.id });
  const after = await gql("{ roles { edges { node { name } } } }", {}, made.secret);
  expect(after.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
});

test("an authenticated user without a control-plane role is FORBIDDEN; no token is UNAUTHENTICATED", async () => {
  const forbidden = await gql("{ policies { edges { node { id } } } }", {}, member);
  expect(forbidden.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
  const mutation = await gql(`mutation { createRole(input: { name: "self-service" }) { role { id } } }`, {}, member);
  expect(mutation.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
  const anonymous = await gql("{ policies { edges { node { id } } } }");
  expect(anonymous.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
  expect((await gql("{ health { status } }")).data).toEqual({ health: { status: "ok" } });
});
