/**
 * Isolation (issue #10): alice and bob hold the same role with a valid token each; bob tries
 * to read, write and probe alice's threads, runs, assistants and store items through every
 * route. Effects are checked on the real LangGraph server, read directly with its key.
 */
import { createHash, randomUUID } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";
import { resourcesOf, ROUTES, type RouteSpec } from "../../common/langgraph/routes.js";
import { identityScope } from "../../data-plane/stages/store-scope.js";

function policy(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [
      { name: "member", bindings: [{ issuer: input.issuerUrl, group: "members" }] },
      { name: "overseer", bindings: [{ issuer: input.issuerUrl, group: "overseers" }] },
      { name: "solo", bindings: [{ issuer: input.issuerUrl, group: "solos" }] },
    ],
    connections: [{ name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [
      {
        name: "members",
        role: "member",
        connection: "main",
        graphs: ["echo", "slow", "whoami"],
        operations: ["assistants:*", "threads:*", "runs:*", "crons:*", "store:*", "store:shared", "meta:info"],
      },
      { name: "solos", role: "solo", connection: "main", graphs: ["echo"], operations: ["store:*"] },
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

describe("the resource table, walked: bob names alice's resources in every position", () => {
  let aliceThread: string;
  let aliceRun: string;
  let aliceAssistant: string;
  let aliceCheckpoint: string;
  let bobThread: string;

  /** Alice's data as the upstream holds it (read directly, not through the gateway). */
  async function aliceState(): Promise<unknown> {
    const thread = await upstream.threads.get(aliceThread);
    const history = await upstream.threads.getHistory(aliceThread, { limit: 100 });
    const runs = await upstream.runs.list(aliceThread, { limit: 100 });
    const assistant = await upstream.assistants.get(aliceAssistant);
    return {
      thread: { metadata: thread.metadata, values: thread.values, status: thread.status },
      history: history.map((h) => h.checkpoint.checkpoint_id),
      runs: runs.map((r) => [r.run_id, r.status, r.metadata]),
      assistant: { name: assistant.name, version: assistant.version, metadata: assistant.metadata, config: assistant.config, graph: assistant.graph_id },
    };
  }

  beforeAll(async () => {
    aliceThread = (await alice.threads.create({ metadata: { topic: "alice's secret" } })).thread_id;
    const run = await alice.runs.create(aliceThread, "echo", { input: { text: "alice's input" } });
    aliceRun = run.run_id;
    await alice.runs.join(aliceThread, aliceRun);
    aliceCheckpoint = (await upstream.threads.getHistory(aliceThread, { limit: 1 }))[0]!.checkpoint.checkpoint_id!;
    aliceAssistant = (await alice.assistants.create({ graphId: "echo", name: "alice's assistant", metadata: { team: "a" } })).assistant_id;
    bobThread = (await bob.threads.create()).thread_id;
  }, 60_000);

  type Ids = { thread: string; run: string; assistant: string; checkpoint: string };
  const fill = (pattern: string, ids: Ids) =>
    pattern.replace(/\{(\w+)\}/g, (_m, name: string) => (name === "namespace" ? "x" : ids[name as keyof Ids]));

  /** A plausible body for a route, naming `ids` wherever the route takes an id in the body. */
  function bodyFor(route: RouteSpec, ids: Ids): Record<string, unknown> | undefined {
    if (route.method === "GET" || route.method === "DELETE") return undefined;
    const body: Record<string, unknown> = { input: { text: "bob was here" }, metadata: { bob: true }, values: { text: "bob" }, name: "bob's" };
    if (route.graph === "body-assistant") body[route.operation === "assistants:create" ? "graph_id" : "assistant_id"] = "echo";
    for (const ref of resourcesOf(route)) {
      if (ref.in === "body" && ref.kind === "thread") body[ref.name] = ids.thread;
      if (ref.in !== "new-id") continue;
      body[ref.name] = ref.kind === "thread" ? ids.thread : ids.assistant;
      body["if_exists"] = "do_nothing";
      if (ref.kind === "thread") body["supersteps"] = [{ updates: [{ values: { text: "bob's superstep" }, as_node: "__input__" }] }];
    }
    return body;
  }

  // Every route that names a thread, run or assistant, except reads of assistants (shared by design).
  const named = ROUTES.filter((r) => !r.unsupported && resourcesOf(r).some((ref) => ref.kind !== "namespace"))
    .filter((r) => !resourcesOf(r).every((ref) => ref.kind === "assistant" && ref.in === "path") || !(r.method === "GET" || r.operation === "assistants:read"));

  test("the walk covers every kind of position", () => {
    const kinds = new Set(named.flatMap((r) => resourcesOf(r).map((ref) => `${ref.kind}/${ref.in}`)));
    expect([...kinds].sort()).toEqual(["assistant/new-id", "assistant/path", "run/path", "thread/body", "thread/new-id", "thread/path"]);
    expect(named.length).toBeGreaterThan(25);
  });

  test.each(named.map((r) => [`${r.method} ${r.pattern}`, r] as const))(
    "%s: refused before the upstream sees it, and answered exactly as for ids that do not exist",
    async (_name, route) => {
      const before = await aliceState();
      const alices: Ids = { thread: aliceThread, run: aliceRun, assistant: aliceAssistant, checkpoint: aliceCheckpoint };
      const missing: Ids = { thread: randomUUID(), run: randomUUID(), assistant: randomUUID(), checkpoint: randomUUID() };
      stack.hop!.reset();
      const res = await call(bobToken, route.method, fill(route.pattern, alices), bodyFor(route, alices));
      const forwarded = stack.hop!.requests.filter((r) => r.headers["x-agentgate-session"] !== undefined);
      expect(forwarded).toEqual([]);
      expect([403, 404, 409]).toContain(res.status); // 403: the policy refuses the operation whatever the id
      expect(Object.keys(res.json as object)).toEqual(["error"]);
      expect(await aliceState()).toEqual(before);

      const createsWithId = resourcesOf(route).some((ref) => ref.in === "new-id");
      if (!createsWithId) {
        // No existence oracle: a foreign id and an id nobody holds get the same status and code.
        const twin = await call(bobToken, route.method, fill(route.pattern, missing), bodyFor(route, missing));
        expect([twin.status, codeOf(twin.json)]).toEqual([res.status, codeOf(res.json)]);
      }
    },
  );

  test.each(ROUTES.filter((r) => !r.unsupported && r.pattern.includes("{run}")).map((r) => [`${r.method} ${r.pattern}`, r] as const))(
    "%s: alice's run through bob's own thread is 404 and never reaches the upstream",
    async (_name, route) => {
      stack.hop!.reset();
      const ids: Ids = { thread: bobThread, run: aliceRun, assistant: aliceAssistant, checkpoint: aliceCheckpoint };
      const res = await call(bobToken, route.method, fill(route.pattern, ids), bodyFor(route, ids));
      expect([res.status, codeOf(res.json)]).toEqual([404, "NOT_FOUND"]);
      expect(stack.hop!.requests.filter((r) => r.headers["x-agentgate-session"] !== undefined)).toEqual([]);
      expect((await upstream.runs.get(aliceThread, aliceRun)).status).toBe("success");
    },
  );

  test("alice's own requests on the same routes still work (the table does not refuse owners)", async () => {
    expect((await alice.runs.get(aliceThread, aliceRun)).run_id).toBe(aliceRun);
    expect((await alice.threads.getState(aliceThread)).values).toMatchObject({ text: "alice's input" });
    expect((await alice.assistants.update(aliceAssistant, { name: "renamed by alice" })).name).toBe("renamed by alice");
    const again = await call(aliceToken, "POST", "/threads", { thread_id: aliceThread, if_exists: "do_nothing" });
    expect([again.status, (again.json as { thread_id: string }).thread_id]).toEqual([200, aliceThread]);
    expect((await call(aliceToken, "POST", "/threads", { thread_id: aliceThread })).status).toBe(409);
  });

  test("thread-pointing body fields cannot aim a request at another thread", async () => {
    stack.hop!.reset();
    const viaCheckpoint = await call(bobToken, "POST", `/threads/${bobThread}/state/checkpoint`, { checkpoint: { thread_id: aliceThread } });
    const viaConfig = await call(bobToken, "POST", "/runs/wait", { assistant_id: "echo", input: {}, config: { configurable: { thread_id: aliceThread } } });
    expect([viaCheckpoint.status, viaConfig.status]).toEqual([422, 422]);
    expect(stack.hop!.requests.filter((r) => r.headers["x-agentgate-session"] !== undefined)).toEqual([]);
  });

  test("racing creations of one thread id: exactly one identity gets it, the other's write never lands", async () => {
    for (let i = 0; i < 8; i++) {
      const threadId = randomUUID();
      const [a, b] = await Promise.all([
        call(aliceToken, "POST", "/threads", { thread_id: threadId, if_exists: "do_nothing", metadata: { who: "alice" } }),
        call(bobToken, "POST", "/threads", { thread_id: threadId, if_exists: "do_nothing", metadata: { who: "bob" } }),
      ]);
      const winners = [a, b].filter((r) => r.status === 200);
      expect(winners).toHaveLength(1);
      const stored = await upstream.threads.get(threadId);
      const winner = a.status === 200 ? "alice" : "bob";
      expect((stored.metadata as Record<string, unknown>)["who"]).toBe(winner);
      const [mine, theirs] = winner === "alice" ? [alice, bob] : [bob, alice];
      expect((await mine.threads.get(threadId)).thread_id).toBe(threadId);
      expect(await statusOf(theirs.threads.get(threadId))).toBe(404);
    }
  });
});

describe("probing: counts and totals cover only what the caller may see", () => {
  test("thread counts, search totals and select-ed searches count bob's threads only", async () => {
    const bobs = new Set<string>();
    for (let i = 0; i < 3; i++) bobs.add((await bob.threads.create({ metadata: { probe: true } })).thread_id);
    await alice.threads.create({ metadata: { probe: true } });
    const all = await call(bobToken, "POST", "/threads/search", { limit: 1000 });
    const mine = (all.json as Array<{ thread_id: string }>).map((t) => t.thread_id);
    expect(mine.length).toBeGreaterThanOrEqual(3);
    const upstreamTotal = (await upstream.threads.search({ limit: 1000 })).length;
    expect(upstreamTotal).toBeGreaterThan(mine.length); // alice's are there, upstream
    expect(Number(all.headers.get("x-pagination-total"))).toBe(mine.length);
    expect((await call(bobToken, "POST", "/threads/count", {})).json).toBe(mine.length);
    expect((await call(bobToken, "POST", "/threads/count", { metadata: { probe: true } })).json).toBe(3);
    const selected = await call(bobToken, "POST", "/threads/search", { metadata: { probe: true }, select: ["thread_id"], limit: 100 });
    expect(new Set((selected.json as Array<{ thread_id: string }>).map((t) => t.thread_id))).toEqual(bobs);
  });

  test("assistant counts cannot include graphs the policy hides; search totals are not sent", async () => {
    const all = await call(bobToken, "POST", "/assistants/count", {});
    expect([all.status, codeOf(all.json)]).toEqual([400, "BAD_REQUEST"]);
    const hidden = await call(bobToken, "POST", "/assistants/count", { graph_id: "leaky" });
    expect([hidden.status, codeOf(hidden.json)]).toEqual([403, "POLICY_DENIED"]);
    const echo = await call(bobToken, "POST", "/assistants/count", { graph_id: "echo" });
    expect(echo.json).toBe(await upstream.assistants.count({ graphId: "echo" }));
    const search = await call(bobToken, "POST", "/assistants/search", { limit: 1000 });
    expect(search.headers.get("x-pagination-total")).toBeNull();
    expect(new Set((search.json as Array<{ graph_id: string }>).map((a) => a.graph_id))).toEqual(new Set(["echo", "slow", "whoami"]));
    const selected = await call(bobToken, "POST", "/assistants/search", { limit: 1000, select: ["assistant_id"] });
    expect((selected.json as unknown[]).length).toBe((search.json as unknown[]).length);
  });
});

describe("store: namespaces are per identity; [\"shared\", ...] only with store:shared", () => {
  const secret = { text: "alice's long-term memory" };
  let aliceScope: string;
  beforeAll(async () => {
    aliceScope = identityScope(stack.issuer.url, "alice");
    await alice.store.putItem(["memories", "profile"], "pref", secret);
  });
  const aliceItem = () => upstream.store.getItem([aliceScope, "memories", "profile"], "pref");

  test("alice reads her item back in her own terms; upstream it lives under her scope", async () => {
    const item = await alice.store.getItem(["memories", "profile"], "pref");
    expect(item).toMatchObject({ namespace: ["memories", "profile"], key: "pref", value: secret });
    expect((await aliceItem())?.value).toEqual(secret);
    expect((await alice.store.searchItems(["memories"])).items.map((i) => i.namespace)).toEqual([["memories", "profile"]]);
    expect((await alice.store.listNamespaces({ maxDepth: 1 })).namespaces).toContainEqual(["memories"]);
  });

  test("bob cannot read, list, search, overwrite or delete it, by any namespace he can name", async () => {
    expect(await bob.store.getItem(["memories", "profile"], "pref")).toBeNull();
    expect(await bob.store.getItem([aliceScope, "memories", "profile"], "pref")).toBeNull();
    expect((await bob.store.searchItems([])).items.map((i) => JSON.stringify(i.value))).not.toContain(JSON.stringify(secret));
    expect((await bob.store.searchItems([], { query: "memory", limit: 100 })).items).toEqual([]);
    expect(JSON.stringify((await bob.store.listNamespaces({ limit: 1000 })).namespaces)).not.toMatch(/memories|agentgate-u-/);
    await bob.store.putItem(["memories", "profile"], "pref", { text: "bob's" });
    await bob.store.putItem([aliceScope, "memories", "profile"], "pref", { text: "bob's, forged scope" });
    await bob.store.deleteItem(["memories", "profile"], "pref");
    expect((await aliceItem())?.value).toEqual(secret);
    // Bob's own writes went to his scope, nested under it whatever he named.
    const bobScope = identityScope(stack.issuer.url, "bob");
    expect((await upstream.store.getItem([bobScope, aliceScope, "memories", "profile"], "pref"))?.value).toEqual({ text: "bob's, forged scope" });
    expect(await bob.store.getItem(["memories", "profile"], "pref")).toBeNull(); // his own, deleted
  });

  test("shared namespaces are common to store:shared holders and refused to others", async () => {
    await alice.store.putItem(["shared", "team"], "wiki", { text: "for the team" });
    expect(await bob.store.getItem(["shared", "team"], "wiki")).toMatchObject({ namespace: ["shared", "team"], value: { text: "for the team" } });
    const solo = clientWith(await stack.issuer.mint({ sub: "sol", groups: ["solos"] }));
    expect(await statusOf(solo.store.getItem(["shared", "team"], "wiki"))).toBe(403);
    expect(await statusOf(solo.store.putItem(["shared", "team"], "wiki", { text: "defaced" }))).toBe(403);
    expect(await solo.store.getItem(["team"], "wiki")).toBeNull();
    expect((await upstream.store.getItem(["agentgate-shared", "team"], "wiki"))?.value).toEqual({ text: "for the team" });
  });

  test("malformed namespaces are refused before the upstream sees them", async () => {
    stack.hop!.reset();
    expect((await call(bobToken, "PUT", "/store/items", { namespace: "notes", key: "k", value: {} })).status).toBe(400);
    expect((await call(bobToken, "PUT", "/store/items", { namespace: ["a.b"], key: "k", value: {} })).status).toBe(400);
    expect((await call(bobToken, "GET", "/store/items?namespace=a&namespace=b&key=k")).status).toBe(400);
    expect(stack.hop!.requests.filter((r) => r.headers["x-agentgate-session"] !== undefined)).toEqual([]);
  });
});
