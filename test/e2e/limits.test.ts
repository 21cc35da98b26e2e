import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

/**
 * Limits that follow the run, not the HTTP exchange (INVARIANTS.md 6), through two proxies
 * sharing Redis, a control plane on PostgreSQL and the real LangGraph server. The attacker is
 * a member with a valid token who starts runs in every style (background, stateless
 * background, streams abandoned mid-way) to get more running at once than the policy allows.
 */
function policy(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [{ name: "worker", bindings: [{ issuer: input.issuerUrl, group: "workers" }] }],
    connections: [{ name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [
      {
        name: "workers",
        role: "worker",
        connection: "main",
        graphs: ["echo", "slow"],
        operations: ["threads:*", "runs:*", "assistants:search"],
        limits: { concurrentRuns: 2 },
      },
    ],
  });
}

let e2e: E2eStack;
let stack: Stack;

beforeAll(async () => {
  e2e = await startE2eStack({
    provider: "postgresql",
    proxies: 2,
    policy,
    env: { AGENTGATE_CONNECTION: "main", AGENTGATE_REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
  });
  stack = e2e.stack;
}, 120_000);

afterAll(() => e2e?.stop());

const clientOf = async (sub: string, proxy = 0) =>
  new Client({ apiUrl: stack.proxyUrl(proxy), apiKey: null, defaultHeaders: { authorization: `Bearer ${await stack.issuer.mint({ sub, groups: ["workers"] })}` } });
const statusOf = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { status?: number }) => e.status ?? -1);
const upstream = () => new Client({ apiUrl: stack.upstream.url, apiKey: stack.upstream.apiKey });

/** Polls `check` until it returns true (generous bound; no timing assertion). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs of `threadIds` that the upstream reports as not final. */
async function unfinished(threadIds: string[]): Promise<number> {
  let n = 0;
  for (const t of threadIds) {
    for (const run of await upstream().runs.list(t)) if (run.status === "pending" || run.status === "running") n++;
  }
  return n;
}

const SLOW = { input: { steps: 8, delay_ms: 250 } }; // ~2 s upstream

describe("background runs hold their slot until they end upstream", () => {
  test("with concurrentRuns 2, a third background run is 429 (on either proxy) while two run; admitted again once they end", async () => {
    const a = await clientOf("bg-1", 0);
    const b = await clientOf("bg-1", 1);
    const threads = [await a.threads.create(), await b.threads.create(), await a.threads.create()].map((t) => t.thread_id);
    await a.runs.create(threads[0]!, "slow", SLOW);
    await b.runs.create(threads[1]!, "slow", SLOW);
    // Both exchanges are over; the runs are not.
    expect(await unfinished(threads)).toBe(2);
    expect(await statusOf(a.runs.create(threads[2]!, "slow", SLOW))).toBe(429);
    expect(await statusOf(b.runs.create(threads[2]!, "echo", { input: {} }))).toBe(429);
    expect(await statusOf(b.runs.wait(null, "echo", { input: {} }))).toBe(429);
    // The refused runs never reached the upstream.
    expect(await upstream().runs.list(threads[2]!)).toHaveLength(0);

    await eventually(async () => (await unfinished(threads)) === 0);
    let status = 0;
    await eventually(async () => (status = await statusOf(b.runs.create(threads[2]!, "echo", { input: {} }))) !== 429);
    expect(status).toBe(200);
  });

  test("stateless background runs (POST /runs) are held the same way", async () => {
    const a = await clientOf("bg-2", 0);
    const b = await clientOf("bg-2", 1);
    await a.runs.create(null, "slow", SLOW);
    await b.runs.create(null, "slow", SLOW);
    expect(await statusOf(a.runs.create(null, "slow", SLOW))).toBe(429);
    // Another identity has its own slots.
    expect(await statusOf((await clientOf("bg-other")).runs.create(null, "echo", { input: {} }))).toBe(200);
    let status = 0;
    await eventually(async () => (status = await statusOf(a.runs.create(null, "echo", { input: {} }))) !== 429);
    expect(status).toBe(200);
  });
});

describe("abandoned streams hold their slot while the run goes on", () => {
  /** Starts a stream of `slow` on `thread`, reads its first event and hangs up. */
  async function abandon(sub: string, proxy: number, thread: string, onDisconnect?: "cancel" | "continue"): Promise<void> {
    const token = await stack.issuer.mint({ sub, groups: ["workers"] });
    const abort = new AbortController();
    const res = await fetch(`${stack.proxyUrl(proxy)}/threads/${thread}/runs/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ assistant_id: "slow", ...SLOW, stream_mode: "updates", ...(onDisconnect ? { on_disconnect: onDisconnect } : {}) }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    await res.body!.getReader().read();
    abort.abort();
  }

  test("streams left with on_disconnect continue (LangGraph's default) keep counting until their runs end", async () => {
    const a = await clientOf("ab-1");
    const threads = [await a.threads.create(), await a.threads.create(), await a.threads.create()].map((t) => t.thread_id);
    await abandon("ab-1", 0, threads[0]!);
    await abandon("ab-1", 1, threads[1]!, "continue");
    expect(await unfinished(threads)).toBe(2);
    expect(await statusOf(a.runs.wait(threads[2]!, "echo", { input: {} }))).toBe(429);
    await eventually(async () => (await unfinished(threads)) === 0);
    let status = 0;
    await eventually(async () => (status = await statusOf(a.runs.wait(threads[2]!, "echo", { input: {} }))) !== 429);
    expect(status).toBe(200);
  });

  test("a stream left with on_disconnect cancel cancels its run upstream and frees the slot", async () => {
    const a = await clientOf("ab-2");
    const threads = [await a.threads.create(), await a.threads.create()].map((t) => t.thread_id);
    await abandon("ab-2", 0, threads[0]!, "cancel");
    await abandon("ab-2", 1, threads[1]!, "cancel");
    // The upstream stops both runs (the gateway passed the hang-up on), then slots are free.
    await eventually(async () => (await unfinished(threads)) === 0);
    const runs = [...(await upstream().runs.list(threads[0]!)), ...(await upstream().runs.list(threads[1]!))];
    expect(runs.map((r) => r.status).sort()).toEqual(["interrupted", "interrupted"]);
    expect(await statusOf(a.runs.wait(null, "echo", { input: {} }))).toBe(200);
  });
});
