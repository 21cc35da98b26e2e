import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { runCli } from "../helpers/cli.js";
import { CliGraphqlError, graphql } from "../../control-plane/cli/graphql-client.js";

/**
 * Just-in-time approval: a run of a graph whose policy requires a reviewer is held (428)
 * until an approver approves the request the proxy filed; nobody approves their own.
 */
const ADMIN_TOKEN = "bootstrap-admin-token-for-approvals-0123456789";
let e2e: E2eStack;
let stack: Stack;

beforeAll(async () => {
  e2e = await startE2eStack({
    provider: "postgresql",
    proxies: 2,
    countingHop: true,
    store: true,
    env: { AGENTGATE_ADMIN_BOOTSTRAP_TOKEN: ADMIN_TOKEN, AGENTGATE_ALLOW_HTTP_ISSUERS: "loopback" },
    policy: (input) =>
      stringify({
        identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
        roles: [
          { name: "runner", bindings: [{ issuer: input.issuerUrl, group: "runners" }] },
          { name: "limited", bindings: [{ issuer: input.issuerUrl, group: "limited" }] },
          { name: "cp-approver", bindings: [{ issuer: input.issuerUrl, group: "approvers" }] },
        ],
        connections: [{ name: "demo", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
        policies: [
          { name: "gated-echo", role: "runner", connection: "demo", graphs: ["echo"], operations: ["runs:*"], approval: { required: true, approverRoles: ["cp-approver"], grantTtlSeconds: 600 } },
          { name: "free-slow", role: "runner", connection: "demo", graphs: ["slow"], operations: ["runs:*"] },
          { name: "gated-twice", role: "limited", connection: "demo", graphs: ["echo"], operations: ["runs:*"], approval: { required: true, approverRoles: ["cp-approver"], grantTtlSeconds: 600, grantUses: 2 } },
        ],
      }),
  });
  stack = e2e.stack;
}, 120_000);

afterAll(() => e2e?.stop());

/** A GraphQL call through the CLI's client: the data, or the error code it failed with. */
async function gql(token: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: Record<string, any>; code?: string }> {
  try {
    return { data: await graphql<Record<string, any>>({ url: stack.graphqlUrl(), token }, query, variables) };
  } catch (err) {
    if (err instanceof CliGraphqlError) return { code: err.code ?? "UNKNOWN" };
    throw err;
  }
}

async function runEcho(token: string, proxy = 0): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.proxyUrl(proxy)}/runs/wait`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: "echo", input: { text: "needs a reviewer", email: "carol@example.com" } }),
  });
  return { status: res.status, body: await res.json() };
}

const requestIdOf = (body: any): string => /request ([0-9a-f-]{36})/.exec(body.error.message)![1]!;

test("a gated run is held with 428 until approved, then runs; ungated graphs are not affected", async () => {
  const token = await stack.issuer.mint({ sub: "runner-1", groups: ["runners"] });
  const first = await runEcho(token);
  expect(first.status).toBe(428);
  expect(first.body.error.code).toBe("APPROVAL_REQUIRED");
  const id = requestIdOf(first.body);
  expect(requestIdOf((await runEcho(token)).body)).toBe(id); // retrying does not file another request

  const sdk = new Client({ apiUrl: stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
  expect(await sdk.runs.wait(null, "slow", { input: { steps: 1, delay_ms: 10 } })).toBeDefined();

  const queue = await gql(ADMIN_TOKEN, `{ approvalRequests(status: "pending") { edges { node { id requesterSubject graph operation parameters } } } }`);
  const pending = queue.data!["approvalRequests"].edges.map((e: any) => e.node);
  expect(pending).toContainEqual(expect.objectContaining({ id, requesterSubject: "runner-1", graph: "echo", operation: "runs:wait" }));
  expect(JSON.stringify(pending)).not.toContain("carol@example.com"); // parameters are masked

  // The bootstrap token holds the approve scope but no approver role: it cannot decide.
  expect((await gql(ADMIN_TOKEN, `mutation($id: ID!) { approveRequest(id: $id) { status } }`, { id })).code).toBe("FORBIDDEN");
  const reviewer = await stack.issuer.mint({ sub: "reviewer-1", groups: ["approvers"] });
  const approved = await gql(reviewer, `mutation($id: ID!) { approveRequest(id: $id, note: "ok") { status reviewer grantExpiresAt } }`, { id });
  expect(approved.data!["approveRequest"]).toMatchObject({ status: "approved", reviewer: `oidc:${stack.issuer.url}|reviewer-1` });

  let result = await runEcho(token);
  for (let i = 0; i < 50 && result.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    result = await runEcho(token);
  }
  expect(result.status).toBe(200);
  expect(result.body).toMatchObject({ text: "needs a reviewer" });
});

test("nobody approves their own request; a denied request stays denied and a retry files a new one", async () => {
  const self = await stack.issuer.mint({ sub: "runner-2", groups: ["runners", "approvers"] });
  const id = requestIdOf((await runEcho(self)).body);
  const own = await gql(self, `mutation($id: ID!) { approveRequest(id: $id) { status } }`, { id });
  expect(own.code).toBe("FORBIDDEN");

  const reviewer = await stack.issuer.mint({ sub: "reviewer", groups: ["approvers"] });
  // The reviewer works from the terminal: the CLI lists the queue and denies.
  const listed = await runCli(stack, reviewer, "approvals", "list");
  expect(listed).toMatchObject({ code: 0 });
  expect(listed.stdout).toContain(id);
  const denied = await runCli(stack, reviewer, "approvals", "deny", id, "--note", "no");
  expect(denied).toMatchObject({ code: 0, stdout: `${id} denied\n` });
  const again = await runEcho(self);
  expect(again.status).toBe(428);
  expect(requestIdOf(again.body)).not.toBe(id);
  const twice = await gql(reviewer, `mutation($id: ID!) { approveRequest(id: $id) { status } }`, { id });
  expect(twice.code).toBe("CONFLICT");
});

test("a grant of 2 uses lets exactly 2 gated runs through, over two proxies and 8 concurrent calls; the rest need a new approval", async () => {
  const token = await stack.issuer.mint({ sub: "limited-1", groups: ["limited"] });
  const first = await runEcho(token, 1);
  expect(first.status).toBe(428);
  const id = requestIdOf(first.body);
  const reviewer = await stack.issuer.mint({ sub: "reviewer-2", groups: ["approvers"] });
  expect((await gql(reviewer, `mutation($id: ID!) { approveRequest(id: $id) { status } }`, { id })).data!["approveRequest"]).toEqual({ status: "approved" });
  // Both proxies enforce the snapshot carrying the grant (polling with runs would spend it).
  for (let i = 0; i < 100; i++) {
    const state = (await gql(ADMIN_TOKEN, `{ snapshot { version } proxies { edges { node { ackedVersion } } } }`)).data!;
    if (state["proxies"].edges.length === 2 && state["proxies"].edges.every((e: any) => BigInt(e.node.ackedVersion ?? 0) >= BigInt(state["snapshot"].version))) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  stack.hop!.reset();
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => runEcho(token, i % 2)));
  expect(results.map((r) => r.status).sort()).toEqual([200, 200, 428, 428, 428, 428, 428, 428]);
  // The effect upstream: exactly two runs reached LangGraph.
  expect(stack.hop!.requests.filter((r) => r.method === "POST" && r.path.startsWith("/runs/wait"))).toHaveLength(2);
  // The refused calls filed a new request for a reviewer; none points at the spent grant.
  const refusedIds = results.filter((r) => r.status === 428).map((r) => requestIdOf(r.body));
  expect(refusedIds).not.toContain(id);
  const uses = await e2e.store!.prisma.adminAudit.findMany({ where: { action: "approval.grant.use", target: `ApprovalRequest:${id}` } });
  expect(uses).toHaveLength(2);
  expect((await e2e.store!.prisma.approvalRequest.findUniqueOrThrow({ where: { id } })).grantUsesLeft).toBe(0);
});
