/**
 * Owner-tag key rotation through the real stack: threads tagged before the rotation stay
 * their owner's (by id and in searches, re-tagged with the newest key), and nobody else's.
 */
import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";
import { graphql } from "../../control-plane/cli/graphql-client.js";

const policy = (input: DemoPolicyInput): string =>
  stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [
      { name: "member", bindings: [{ issuer: input.issuerUrl, group: "members" }] },
      { name: "cp-admin", bindings: [{ issuer: input.issuerUrl, group: "admins" }] },
    ],
    connections: [{ name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [{ name: "members", role: "member", connection: "main", graphs: ["echo"], operations: ["threads:*", "runs:*"] }],
  });

let e2e: E2eStack;
let stack: Stack;
beforeAll(async () => {
  e2e = await startE2eStack({ policy, env: { AGENTGATE_CONNECTION: "main", AGENTGATE_GATEWAY_KEY_GENERATION: "1" } });
  stack = e2e.stack;
}, 120_000);
afterAll(async () => e2e?.stop());

const clientFor = async (sub: string) =>
  new Client({ apiUrl: stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${await stack.issuer.mint({ sub, groups: ["members"] })}` } });
const statusOf = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { status?: number }) => e.status ?? -1);

test("after a rotation, old threads stay their owner's, are found by search and re-tagged; others still get 404", async () => {
  const upstream = new Client({ apiUrl: stack.upstream.url, apiKey: stack.upstream.apiKey });
  const alice = await clientFor("alice");
  const bob = await clientFor("bob");
  const old = (await alice.threads.create({ metadata: { era: "before" } })).thread_id;
  const tagOf = async (id: string) => ((await upstream.threads.get(id)).metadata as Record<string, string>)["agentgate_owner"] ?? "";
  expect(await tagOf(old)).toMatch(/^k1\./);

  await stack.stopControlPlane();
  // Only the key generation changes (same policy file): the new keys are a new snapshot
  // version, so the proxy gets them without any policy change.
  await stack.startControlPlane({ AGENTGATE_GATEWAY_KEY_GENERATION: "2" });
  let fresh = "";
  for (let i = 0; i < 100 && !(await tagOf(fresh || "x").catch(() => "")).startsWith("k2."); i++) {
    fresh = (await alice.threads.create()).thread_id;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(await tagOf(fresh)).toMatch(/^k2\./);

  expect((await alice.threads.get(old)).thread_id).toBe(old);
  expect(await statusOf(bob.threads.get(old))).toBe(404);
  expect((await alice.threads.search({ metadata: { era: "before" } })).map((t) => t.thread_id)).toEqual([old]);
  expect(await tagOf(old)).toMatch(/^k2\./);
  expect(await bob.threads.search({ metadata: { era: "before" } })).toEqual([]);
}, 90_000);

test("rotateGatewayKeys moves every replica to the next generation without a restart; a replica restarted with an older AGENTGATE_GATEWAY_KEY_GENERATION keeps it", async () => {
  const upstream = new Client({ apiUrl: stack.upstream.url, apiKey: stack.upstream.apiKey });
  const tagOf = async (id: string) => ((await upstream.threads.get(id)).metadata as Record<string, string>)["agentgate_owner"] ?? "";
  const alice = await clientFor("alice");
  const bob = await clientFor("bob");
  const admin = { url: stack.graphqlUrl(), token: await stack.issuer.mint({ sub: "admin", groups: ["admins"] }) };
  const before = (await graphql<{ snapshot: { keyGeneration: number } }>(admin, "{ snapshot { keyGeneration } }")).snapshot.keyGeneration;
  const old = (await alice.threads.create({ metadata: { era: "pre-rotate" } })).thread_id;
  expect(await tagOf(old)).toMatch(new RegExp(`^k${before}\\.`));

  const rotated = await graphql<{ rotateGatewayKeys: { keyGeneration: number; snapshotVersion: string } }>(admin, "mutation { rotateGatewayKeys { keyGeneration snapshotVersion } }");
  const next = before + 1;
  expect(rotated.rotateGatewayKeys.keyGeneration).toBe(next);
  // New threads are tagged with the new generation once the proxy has the snapshot (no restart).
  const freshTag = async () => tagOf((await alice.threads.create()).thread_id);
  let tag = await freshTag();
  for (let i = 0; i < 100 && !tag.startsWith(`k${next}.`); i++) {
    await new Promise((r) => setTimeout(r, 100));
    tag = await freshTag();
  }
  expect(tag).toMatch(new RegExp(`^k${next}\\.`));
  expect((await alice.threads.get(old)).thread_id).toBe(old);
  expect(await statusOf(bob.threads.get(old))).toBe(404);

  // A replica that (re)starts with the old environment value does not roll the deployment back.
  await stack.stopControlPlane();
  await stack.startControlPlane({ AGENTGATE_GATEWAY_KEY_GENERATION: "1" });
  expect((await graphql<{ snapshot: { keyGeneration: number } }>(admin, "{ snapshot { keyGeneration } }")).snapshot.keyGeneration).toBe(next);
  expect(await freshTag()).toMatch(new RegExp(`^k${next}\\.`));
  expect((await alice.threads.search({ metadata: { era: "pre-rotate" } })).map((t) => t.thread_id)).toEqual([old]);
}, 90_000);
