import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

/**
 * The pseudonym scope is a policy choice end to end (#17), on both databases: an admin
 * changes it through GraphQL (and through a policy file), the column stores it, the next
 * snapshot carries it, and a real proxy in front of the real LangGraph server then links
 * (or unlinks) exchanges exactly as the scope says. Checked on the pseudonyms the caller
 * gets back AND on what the upstream stored (never the address itself).
 */
function policy(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    maskingProfiles: [{ name: "pseudonyms", rules: [{ kind: "detector", match: "email", style: "pseudonym" }] }],
    roles: [
      { name: "cp-admin", bindings: [{ issuer: input.issuerUrl, group: "admins" }] },
      { name: "chatter", bindings: [{ issuer: input.issuerUrl, group: "chatters" }] },
    ],
    connections: [{ name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [{ name: "chatter", role: "chatter", connection: "main", graphs: ["echo"], operations: ["threads:*", "runs:*"], maskingProfile: "pseudonyms" }],
  });
}

interface Gql {
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; extensions?: { code?: string; problems?: string[] } }>;
}

const EMAIL = "carol.jones@example.com";
const tokens = (v: unknown): string[] => [...JSON.stringify(v).matchAll(/\[email:([0-9a-f]{8})\]/g)].map((m) => m[1]!);

describe.each(["postgresql", "sqlite"] as const)("pseudonym scope on %s", (provider) => {
  let e2e: E2eStack;
  let stack: Stack;
  let root: string;

  beforeAll(async () => {
    e2e = await startE2eStack({ provider, store: true, policy, env: { AGENTGATE_ALLOW_HTTP_ISSUERS: "loopback" } });
    stack = e2e.stack;
    root = await stack.issuer.mint({ sub: "root", groups: ["admins"] });
  }, 120_000);
  afterAll(async () => {
    await e2e?.stop();
  });

  async function gql(query: string, variables: Record<string, unknown> = {}): Promise<Gql> {
    const res = await fetch(stack.graphqlUrl(), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${root}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as Gql;
  }
  async function ok(query: string, variables: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const res = await gql(query, variables);
    expect(res.errors).toBeUndefined();
    return res.data!;
  }
  /** Waits until the proxy acked `version` (so the next call is decided by it). */
  async function proxyAcked(version: string): Promise<void> {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      const node = (await ok("{ proxies { edges { node { ackedVersion } } } }")).proxies.edges[0]?.node;
      if (node && BigInt(node.ackedVersion ?? 0) >= BigInt(version)) return;
    }
    throw new Error(`proxy never acked version ${version}`);
  }
  const policyId = async (): Promise<string> => (await ok(`{ policies { edges { node { id name } } } }`)).policies.edges.find((e: any) => e.node.name === "chatter").node.id;
  async function setScope(scope: string): Promise<void> {
    const data = await ok(`mutation($id: ID!, $s: PseudonymScope!) { updatePolicy(id: $id, input: { pseudonymScope: $s }) { policy { pseudonymScope } snapshotVersion } }`, {
      id: await policyId(),
      s: scope,
    });
    expect(data.updatePolicy.policy.pseudonymScope).toBe(scope);
    await proxyAcked(data.updatePolicy.snapshotVersion);
  }
  const storedScope = async (): Promise<string | undefined> => (await e2e.store!.prisma.policy.findUnique({ where: { name: "chatter" } }))?.pseudonymScope;
  const client = async (sub: string) =>
    new Client({ apiUrl: stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${await stack.issuer.mint({ sub, groups: ["chatters"] })}` } });
  const upstream = () => new Client({ apiUrl: stack.upstream.url, apiKey: stack.upstream.apiKey });
  /** One turn on `thread` as `who`: the pseudonym the caller got, checked against what the upstream stored. */
  async function turn(who: Client, thread: string): Promise<string> {
    const got = tokens(await who.runs.wait(thread, "echo", { input: { text: `write to ${EMAIL}` } }));
    expect(got).toHaveLength(1);
    const state = JSON.stringify(await upstream().threads.getState(thread));
    expect(state).not.toContain(EMAIL);
    expect(state).toContain(`[email:${got[0]}]`);
    return got[0]!;
  }

  test("default THREAD: a thread's turns share a pseudonym, threads and identities do not", async () => {
    expect((await ok(`query($id: ID!) { policy(id: $id) { pseudonymScope } }`, { id: await policyId() })).policy.pseudonymScope).toBe("THREAD");
    expect(await storedScope()).toBe("thread");
    const alice = await client("alice");
    const t1 = (await alice.threads.create()).thread_id;
    const t2 = (await alice.threads.create()).thread_id;
    const first = await turn(alice, t1);
    expect(await turn(alice, t1)).toBe(first);
    expect(await turn(alice, t2)).not.toBe(first);
  });

  test("IDENTITY through GraphQL: an identity's threads share a pseudonym; another identity's differs", async () => {
    await setScope("IDENTITY");
    expect(await storedScope()).toBe("identity");
    const alice = await client("alice");
    const bob = await client("bob");
    const a1 = await turn(alice, (await alice.threads.create()).thread_id);
    const a2 = await turn(alice, (await alice.threads.create()).thread_id);
    const b1 = await turn(bob, (await bob.threads.create()).thread_id);
    expect(a2).toBe(a1);
    expect(b1).not.toBe(a1);
  });

  test("EXCHANGE through the policy file: even a thread's turns stop sharing pseudonyms; THREAD again restores linking", async () => {
    const yaml = stringify({ policies: [{ name: "chatter", role: "chatter", connection: "main", graphs: ["echo"], operations: ["threads:*", "runs:*"], maskingProfile: "pseudonyms", pseudonymScope: "exchange" }] });
    const applied = await ok(`mutation($y: String!) { applyPolicyFile(yaml: $y) { snapshotVersion changes { kind name action } } }`, { y: yaml });
    expect(applied.applyPolicyFile.changes).toContainEqual({ kind: "policy", name: "chatter", action: "update" });
    await proxyAcked(applied.applyPolicyFile.snapshotVersion);
    expect(await storedScope()).toBe("exchange");
    const alice = await client("alice");
    const thread = (await alice.threads.create()).thread_id;
    expect(await turn(alice, thread)).not.toBe(await turn(alice, thread));

    await setScope("THREAD");
    const again = (await alice.threads.create()).thread_id;
    expect(await turn(alice, again)).toBe(await turn(alice, again));
  });

  test("an unknown scope is refused on both write paths and nothing changes", async () => {
    const bad = await gql(`mutation($id: ID!) { updatePolicy(id: $id, input: { pseudonymScope: GLOBAL }) { snapshotVersion } }`, { id: await policyId() });
    expect(bad.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const yaml = stringify({ policies: [{ name: "chatter", role: "chatter", connection: "main", graphs: ["echo"], operations: ["runs:*"], pseudonymScope: "global" }] });
    const file = await gql(`mutation($y: String!) { applyPolicyFile(yaml: $y) { snapshotVersion } }`, { y: yaml });
    expect(file.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(JSON.stringify(file.errors)).toContain("pseudonymScope");
    expect(await storedScope()).toBe("thread");
  });
});
