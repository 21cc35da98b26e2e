/**
 * Isolation (issue #10): alice and bob hold the same role with a valid token each; bob tries
 * to read, write and probe alice's threads, runs, assistants and store items through every
 * route. Effects are checked on the real LangGraph server, read directly with its key.
 */
import { createHash } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";

function policy(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [
      { name: "member", bindings: [{ issuer: input.issuerUrl, group: "members" }] },
      { name: "overseer", bindings: [{ issuer: input.issuerUrl, group: "overseers" }] },
    ],
    connections: [{ name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [
      {
        name: "members",
        role: "member",
        connection: "main",
        graphs: ["echo", "slow", "whoami"],
        operations: ["assistants:*", "threads:*", "runs:*", "store:*", "meta:info"],
      },
      { name: "overseers", role: "overseer", connection: "main", graphs: ["*"], operations: ["threads:read", "threads:search", "threads:read:any"] },
    ],
  });
}

let e2e: E2eStack;
let stack: Stack;
let upstream: Client;
let aliceToken: string;
let bobToken: string;
let alice: Client;
let bob: Client;

beforeAll(async () => {
  e2e = await startE2eStack({ countingHop: true, policy, env: { AGENTGATE_CONNECTION: "main" } });
  stack = e2e.stack;
  upstream = new Client({ apiUrl: stack.upstream.url, apiKey: stack.upstream.apiKey });
  aliceToken = await stack.issuer.mint({ sub: "alice", groups: ["members"] });
  bobToken = await stack.issuer.mint({ sub: "bob", groups: ["members"] });
  alice = clientWith(aliceToken);
  bob = clientWith(bobToken);
}, 120_000);

afterAll(async () => {
  await e2e?.stop();
});

const clientWith = (token: string) => new Client({ apiUrl: stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
const statusOf = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { status?: number }) => e.status ?? -1);

/** A raw call through the proxy; the body as text and parsed when JSON. */
async function call(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: unknown; headers: Headers }> {
  const res = await fetch(`${stack.proxyUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}
const codeOf = (json: unknown) => (json as { error?: { code?: string } } | undefined)?.error?.code;

describe("owner tags", () => {
  test("tags are HMACs under a gateway key (with its id), not the public sha256 of issuer and subject", async () => {
    const mine = await alice.threads.create();
    const stored = (await upstream.threads.get(mine.thread_id)).metadata as Record<string, unknown>;
    const tag = stored["agentgate_owner"] as string;
    expect(tag).toMatch(/^k\d+\.[0-9a-f]{32}$/);
    const computable = createHash("sha256").update(stack.issuer.url).update("\u0000").update("alice").digest("hex").slice(0, 32);
    expect(tag).not.toContain(computable);
    // A thread planted upstream with the old computable tag is not alice's.
    const planted = await upstream.threads.create({ metadata: { agentgate_owner: computable } });
    expect(await statusOf(alice.threads.get(planted.thread_id))).toBe(404);
    expect((await alice.threads.search({ limit: 100 })).map((t) => t.thread_id)).not.toContain(planted.thread_id);
  });

  const forgedBodies: Array<[string, string, string, (tag: string) => unknown]> = [
    ["thread create metadata", "POST", "/threads", (tag) => ({ metadata: { agentgate_owner: tag } })],
    ["stateless kept run metadata", "POST", "/runs/wait", (tag) => ({ assistant_id: "echo", input: {}, on_completion: "keep", metadata: { agentgate_owner: tag } })],
    ["stateless run, key in another case", "POST", "/runs", (tag) => ({ assistant_id: "echo", input: {}, on_completion: "keep", metadata: { AgentGate_Owner: tag } })],
    ["thread search filter (probing)", "POST", "/threads/search", (tag) => ({ metadata: { agentgate_owner: tag } })],
    ["thread count filter (probing)", "POST", "/threads/count", (tag) => ({ metadata: { agentgate_owner: tag } })],
    ["assistant search filter", "POST", "/assistants/search", (tag) => ({ metadata: { agentgate_owner: tag } })],
    ["assistant create metadata", "POST", "/assistants", (tag) => ({ graph_id: "echo", metadata: { agentgate_owner: tag } })],
    ["nested in run input", "POST", "/runs/wait", (tag) => ({ assistant_id: "echo", input: { deep: [{ agentgate_owner: tag }] } })],
    ["store value", "PUT", "/store/items", (tag) => ({ namespace: ["notes"], key: "k", value: { agentgate_owner: tag } })],
  ];

  test.each(forgedBodies)("a client-sent owner key is refused (422) and never forwarded: %s", async (_name, method, path, body) => {
    const aliceTag = ((await upstream.threads.get((await alice.threads.create()).thread_id)).metadata as Record<string, string>)["agentgate_owner"]!;
    stack.hop!.reset();
    const res = await call(bobToken, method, path, body(aliceTag));
    expect([res.status, codeOf(res.json)]).toEqual([422, "INPUT_DENIED"]);
    expect(stack.hop!.requests).toHaveLength(0);
  });

  test("a stateless run that keeps its thread gives the thread to the caller only", async () => {
    const res = await call(bobToken, "POST", "/runs/wait", { assistant_id: "echo", input: { text: "kept" }, on_completion: "keep", metadata: { topic: "bob's" } });
    expect(res.status).toBe(200);
    const bobs = await upstream.threads.search({ metadata: { topic: "bob's" }, limit: 10 });
    expect(bobs).toHaveLength(1);
    const kept = bobs[0]!.thread_id;
    expect((await bob.threads.get(kept)).thread_id).toBe(kept);
    expect(await statusOf(alice.threads.get(kept))).toBe(404);
    expect((await alice.threads.search({ limit: 1000 })).map((t) => t.thread_id)).not.toContain(kept);
  });
});

describe("x-agentgate-* in run configuration", () => {
  test("client keys posing as gateway headers are removed from config.configurable and context", async () => {
    const res = await call(bobToken, "POST", "/runs/wait", {
      assistant_id: "whoami",
      input: {},
      config: { configurable: { "x-agentgate-sub": "alice", "X-AgentGate-Groups": "admins", "x-agentgate-role": "root", "x-other": "kept" } },
      context: { "x-agentgate-sub": "alice" },
    });
    expect(res.status).toBe(200);
    const out = res.json as { headers: Record<string, string> };
    expect(out.headers["x-agentgate-sub"]).toBe("bob");
    expect(out.headers["x-agentgate-groups"]).toBe("members");
    expect(Object.keys(out.headers).filter((k) => /x-agentgate-role/i.test(k) || k === "X-AgentGate-Groups")).toEqual([]);
    expect(out.headers["x-other"]).toBe("kept");
  });
});
