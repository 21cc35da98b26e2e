import { Client } from "@langchain/langgraph-sdk";
import { Redis } from "ioredis";
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
    maskingProfiles: [{ name: "pseudonyms", rules: [{ kind: "detector", match: "email", style: "pseudonym" }] }],
    roles: ["worker", "capped", "uncapped", "priced", "chatter"].map((name) => ({ name, bindings: [{ issuer: input.issuerUrl, group: `${name}s` }] })),
    connections: [{ name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [
      {
        name: "workers",
        role: "worker",
        connection: "main",
        graphs: ["echo", "slow"],
        operations: ["threads:*", "runs:*", "crons:*", "assistants:search"],
        limits: { concurrentRuns: 2 },
      },
      // slow reports 49 tokens: 4.9 per run at 100 per 1k tokens.
      ...[
        { name: "capped", limits: { costBudgetPerDay: 12, costPer1kTokens: 100, maxCostPerRun: 5 } },
        { name: "uncapped", limits: { costBudgetPerDay: 12, costPer1kTokens: 100 } },
        { name: "priced", limits: { costBudgetPerDay: 1000, costPer1kTokens: 100, maxCostPerRun: 5 } },
      ].map((p) => ({ ...p, role: p.name, connection: "main", graphs: ["echo", "slow"], operations: ["threads:*", "runs:*"] })),
      { name: "chatter", role: "chatter", connection: "main", graphs: ["echo"], operations: ["threads:*", "runs:*", "crons:*"], maskingProfile: "pseudonyms", maskRequests: true },
    ],
  });
}

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
let e2e: E2eStack;
let stack: Stack;

beforeAll(async () => {
  e2e = await startE2eStack({
    provider: "postgresql",
    store: true,
    proxies: 2,
    policy,
    env: { AGENTGATE_CONNECTION: "main", AGENTGATE_REDIS_URL: REDIS_URL, AGENTGATE_REDIS_TIMEOUT_MS: "2000", AGENTGATE_FLEET_SIZE: "2" },
  });
  stack = e2e.stack;
}, 120_000);

afterAll(async () => {
  redis.disconnect();
  await e2e?.stop();
});

const redis = new Redis(REDIS_URL);
const clientOf = async (sub: string, proxy = 0, group = "workers") =>
  new Client({ apiUrl: stack.proxyUrl(proxy), apiKey: null, defaultHeaders: { authorization: `Bearer ${await stack.issuer.mint({ sub, groups: [group] })}` } });
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

/** What the shared (Redis) counters say a policy's identities spent or reserved today. */
async function spentUnder(policyName: string): Promise<number> {
  const policy = await e2e.store!.prisma.policy.findFirstOrThrow({ where: { name: policyName } });
  const keys = await redis.keys(`agentgate:limits:cost:cost:${policy.id}:*`);
  const values = keys.length ? await redis.mget(...keys) : [];
  return values.reduce((sum, v) => sum + Number(v ?? 0), 0);
}

/** Streams slow through the proxies `n` times at once; returns the statuses. */
async function concurrentStreams(sub: string, group: string, n: number, onTick: () => Promise<void>): Promise<number[]> {
  const token = await stack.issuer.mint({ sub, groups: [group] });
  let running = true;
  const sampler = (async () => {
    while (running) await onTick();
  })();
  const statuses = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${stack.proxyUrl(i % 2)}/runs/stream`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ assistant_id: "slow", input: { steps: 2, delay_ms: 100 }, stream_mode: i % 3 === 0 ? "updates" : i % 3 === 1 ? "messages-tuple" : "values" }),
      });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  running = false;
  await sampler;
  return statuses;
}

describe("token budgets are never overshot", () => {
  test.each([
    ["capped", 5],
    ["uncapped", 12],
  ])("20 concurrent streams against a budget of 12 (policy %s, reservation %d): the counter never passes it and ends at admitted × 4.9", async (policyName) => {
    let peak = 0;
    const statuses = await concurrentStreams(`spender-${policyName}`, `${policyName}s`, 20, async () => {
      peak = Math.max(peak, await spentUnder(policyName));
    });
    const admitted = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(2); // 2 × 4.9 fits 12; a third 4.9 would not
    await eventually(async () => Math.abs((await spentUnder(policyName)) - admitted * 4.9) < 1e-6);
    expect(peak).toBeLessThanOrEqual(12 + 1e-9);
  });

  test("every call style is priced: wait, streams of modes without usage, background runs (stateless and on a thread)", async () => {
    const client = await clientOf("payer", 0, "priceds");
    const token = await stack.issuer.mint({ sub: "payer", groups: ["priceds"] });
    let expected = 0;
    const charged = async (amount: number) => {
      expected += amount;
      await eventually(async () => Math.abs((await spentUnder("priced")) - expected) < 1e-6);
    };
    const slow = { input: { steps: 1, delay_ms: 10 } };
    const thread = (await client.threads.create()).thread_id;

    await client.runs.wait(thread, "slow", slow);
    await charged(4.9); // read from the thread's checkpoints (the output repeats no history charge)
    await client.runs.wait(thread, "slow", slow);
    await charged(4.9); // the first run's message is in the output again, but not charged again
    await client.runs.wait(null, "slow", slow);
    await charged(4.9); // stateless: output minus the caller's input
    const stream = async (path: string, mode: string) => {
      const res = await fetch(`${stack.proxyUrl(1)}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ assistant_id: "slow", ...slow, stream_mode: mode }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    };
    await stream(`/threads/${thread}/runs/stream`, "custom");
    await charged(4.9); // a mode without usage, on a thread: read from its checkpoints
    await stream("/runs/stream", "debug");
    await charged(5); // stateless and unreadable: charged its whole reservation
    const bg = await client.runs.create(thread, "slow", slow);
    await charged(4.9); // settled once the tracker sees it end
    expect((await upstream().runs.get(thread, bg.run_id)).status).toBe("success");
    await client.runs.create(null, "slow", slow);
    await charged(5); // its thread is deleted at its end: unreadable, the reservation stays
    await client.runs.wait(null, "echo", { input: { text: "free" } });
    await charged(0);
  });
});

describe("pseudonyms are stable per thread", () => {
  test("a thread's turns (through either proxy) share the pseudonym of a value; another thread's differ; the upstream never sees the value", async () => {
    const a = await clientOf("chat-1", 0, "chatters");
    const b = await clientOf("chat-1", 1, "chatters");
    const email = "carol.jones@example.com";
    const tokens = (v: unknown) => [...JSON.stringify(v).matchAll(/\[email:([0-9a-f]{8})\]/g)].map((m) => m[1]);
    const thread = (await a.threads.create()).thread_id;
    const turn1 = tokens(await a.runs.wait(thread, "echo", { input: { text: `write to ${email}` } }));
    const turn2 = tokens(await b.runs.wait(thread, "echo", { input: { text: `did ${email} answer?` } }));
    expect(turn1).toHaveLength(1);
    expect(turn2).toEqual(turn1);
    // What the upstream stored for the thread holds the pseudonym, never the address.
    const state = JSON.stringify(await upstream().threads.getState(thread));
    expect(state).not.toContain(email);
    expect(state).toContain(`[email:${turn1[0]}]`);
    const other = (await a.threads.create()).thread_id;
    expect(tokens(await a.runs.wait(other, "echo", { input: { text: email } }))).not.toEqual(turn1);
  });
});

describe("crons cannot escape run limits", () => {
  // The upstream's scheduler starts a cron's runs later, with nothing the gateway can follow
  // (the dev server does not even implement crons: it answers them 500 "Not implemented").
  // The attack: a member under concurrentRuns creates crons to get runs outside the limit.
  const cronCall = async (token: string, proxy: number, path: string) => {
    const res = await fetch(`${stack.proxyUrl(proxy)}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ assistant_id: path.startsWith("/threads") ? "slow" : "echo", schedule: "* * * * *", input: {} }),
    });
    return { status: res.status, id: res.headers.get("x-request-id")!, body: (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } } };
  };
  const recordOf = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      const row = await e2e.store!.prisma.session.findUnique({ where: { id } });
      if (row) return row;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no record ${id}`);
  };

  test("a member under concurrentRuns creating crons (stateless or on a thread, through either proxy) is refused before the upstream; a policy without run limits is forwarded", async () => {
    const token = await stack.issuer.mint({ sub: "cron-escaper", groups: ["workers"] });
    const thread = (await (await clientOf("cron-escaper")).threads.create()).thread_id;
    for (const [i, path] of ["/runs/crons", `/threads/${thread}/runs/crons`].entries()) {
      const res = await cronCall(token, i % 2, path);
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: "POLICY_DENIED", message: expect.stringMatching(/crons/) });
      expect(await recordOf(res.id)).toMatchObject({ decision: "deny", reasons: ["cron-unbounded"], operation: "crons:create" });
    }
    // Control: under a policy without run limits the same call is forwarded (whatever the upstream answers).
    const chatter = await stack.issuer.mint({ sub: "cron-chatter", groups: ["chatters"] });
    const forwarded = await cronCall(chatter, 0, "/runs/crons");
    expect(await recordOf(forwarded.id)).toMatchObject({ decision: "allow", operation: "crons:create" });
  });
});
