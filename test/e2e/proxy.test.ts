import { connect } from "node:net";
import { randomUUID } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";
import { exportSPKI, generateKeyPair, importJWK, SignJWT } from "jose";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { startIssuer, type Issuer } from "../../demo/issuer.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";

/** Runners may run echo and slow and use their own threads; overseers may read any thread. */
function policy(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [
      { name: "runner", bindings: [{ issuer: input.issuerUrl, group: "runners" }] },
      { name: "overseer", bindings: [{ issuer: input.issuerUrl, group: "overseers" }] },
      { name: "limited", bindings: [{ issuer: input.issuerUrl, group: "limited" }] },
      { name: "editor", bindings: [{ issuer: input.issuerUrl, group: "editors" }] },
      { name: "bursty", bindings: [{ issuer: input.issuerUrl, group: "bursty" }] },
    ],
    connections: [
      { name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv },
      { name: "dead", baseUrl: "http://127.0.0.1:9", credentialEnv: input.credentialEnv, connectTimeoutMs: 1000 },
    ],
    policies: [
      {
        name: "runners",
        role: "runner",
        connection: "main",
        graphs: ["echo", "slow", "whoami"],
        operations: ["assistants:read", "assistants:search", "threads:*", "runs:*", "meta:info"],
        maskRequests: false,
        limits: { maxBodyBytes: 65536 },
      },
      { name: "runners-dead", role: "runner", connection: "dead", graphs: ["*"], operations: ["*"] },
      {
        name: "limited",
        role: "limited",
        connection: "main",
        graphs: ["echo", "slow"],
        operations: ["runs:*", "assistants:search"],
        limits: { requestsPerMinute: 60, burst: 4, concurrentRuns: 1, maxRecursionLimit: 10 },
        denylist: [{ pattern: "drop\\s+table", message: "SQL is not accepted as input" }],
      },
      // One token a minute: no refill can happen during a test, however loaded the machine.
      { name: "bursty", role: "bursty", connection: "main", graphs: ["echo"], operations: ["assistants:search"], limits: { requestsPerMinute: 1, burst: 4 } },
      { name: "editors", role: "editor", connection: "main", graphs: ["echo"], operations: ["assistants:*", "runs:*"] },
      { name: "overseers", role: "overseer", connection: "main", graphs: ["*"], operations: ["threads:read", "threads:search", "threads:read:any"] },
    ],
  });
}

let e2e: E2eStack;
let stack: Stack;
let otherIssuer: Issuer;

beforeAll(async () => {
  e2e = await startE2eStack({ countingHop: true, policy, env: { AGENTGATE_CONNECTION: "main" } });
  stack = e2e.stack;
  otherIssuer = await startIssuer();
}, 120_000);

afterAll(async () => {
  await e2e?.stop();
  await otherIssuer?.stop();
});

const tokenFor = (sub: string, groups: string[]) => stack.issuer.mint({ sub, groups });
const clientWith = (token: string, path = "") =>
  new Client({ apiUrl: stack.proxyUrl() + path, apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
const clientFor = async (sub: string, groups: string[]) => clientWith(await tokenFor(sub, groups));
const statusOf = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { status?: number }) => e.status ?? -1);

describe("authorization", () => {
  test("an allowed user runs echo with runs.wait and runs.stream", async () => {
    const client = await clientFor("alice", ["runners"]);
    expect(await client.runs.wait(null, "echo", { input: { text: "hi", n: { a: [1, 2] } } })).toMatchObject({ text: "hi", n: { a: [1, 2] } });
    const events: string[] = [];
    for await (const chunk of client.runs.stream(null, "echo", { input: { text: "streamed" }, streamMode: ["values", "updates"] })) events.push(chunk.event);
    expect(events[0]).toBe("metadata");
    expect(events).toContain("values");
  });

  test("a graph outside the policy is 403, by graph id and by assistant UUID, and hidden from search", async () => {
    const client = await clientFor("alice", ["runners"]);
    expect(await statusOf(client.runs.wait(null, "leaky", { input: {} }))).toBe(403);
    const dev = clientWith(await tokenFor("admin", ["runners", "overseers"]));
    const all = await (await clientFor("x", ["overseers"])).assistants.search().catch(() => []);
    expect(all).toEqual([]); // overseers have no assistants:search
    const visible = await client.assistants.search();
    expect(visible.map((a) => a.graph_id).sort()).toEqual(["echo", "slow", "whoami"]);
    // Find leaky's assistant id straight from the upstream, then ask the proxy for it.
    const upstream = new Client({ apiUrl: stack.upstream.url, apiKey: stack.upstream.apiKey });
    const leaky = (await upstream.assistants.search({ graphId: "leaky" }))[0]!;
    // By id, an assistant of a hidden graph looks like a missing one (no existence oracle).
    expect(await statusOf(client.assistants.get(leaky.assistant_id))).toBe(404);
    expect(await statusOf(client.assistants.get(randomUUID()))).toBe(404);
    expect(await statusOf(client.runs.wait(null, leaky.assistant_id, { input: {} }))).toBe(404);
    expect(await statusOf(dev.runs.wait(null, leaky.assistant_id, { input: {} }))).toBe(404);
    // An echo assistant UUID resolves to an allowed graph.
    const echo = visible.find((a) => a.graph_id === "echo")!;
    expect(await client.runs.wait(null, echo.assistant_id, { input: { text: "by uuid" } })).toMatchObject({ text: "by uuid" });
  });

  test("a user with no role gets 403 and the upstream never sees it", async () => {
    stack.hop!.reset();
    const client = await clientFor("mallory", ["nobody"]);
    expect(await statusOf(client.assistants.search())).toBe(403);
    expect(await statusOf(client.runs.wait(null, "echo", { input: {} }))).toBe(403);
    expect(stack.hop!.requests).toHaveLength(0);
  });
});

describe("thread ownership", () => {
  test("another identity's thread is 404; search shows only own threads; threads:read:any sees all", async () => {
    const alice = await clientFor("alice", ["runners"]);
    const bob = await clientFor("bob", ["runners"]);
    const thread = await alice.threads.create({ metadata: { topic: "alice's" } });
    await alice.runs.wait(thread.thread_id, "echo", { input: { text: "mine" } });
    expect((await alice.threads.get(thread.thread_id)).thread_id).toBe(thread.thread_id);

    expect(await statusOf(bob.threads.get(thread.thread_id))).toBe(404);
    expect(await statusOf(bob.threads.getState(thread.thread_id))).toBe(404);
    expect(await statusOf(bob.threads.getHistory(thread.thread_id))).toBe(404);
    expect(await statusOf(bob.runs.wait(thread.thread_id, "echo", { input: {} }))).toBe(404);
    expect(await statusOf(bob.threads.update(thread.thread_id, { metadata: { agentgate_owner: "bob" } }))).toBe(422); // reserved key, whoever owns the thread
    expect(await statusOf(bob.threads.update(thread.thread_id, { metadata: { topic: "bob's now" } }))).toBe(404);
    expect(await statusOf(bob.threads.delete(thread.thread_id))).toBe(404);
    expect(await statusOf(bob.threads.prune([thread.thread_id]))).toBe(501);

    expect(await statusOf(bob.threads.create({ metadata: { agentgate_owner: "forged" } }))).toBe(422);
    const bobThread = await bob.threads.create({ metadata: { topic: "bob's" } });
    const bobSees = (await bob.threads.search({ limit: 100 })).map((t) => t.thread_id);
    expect(bobSees).toContain(bobThread.thread_id);
    expect(bobSees).not.toContain(thread.thread_id);
    expect((await alice.threads.search({ limit: 100 })).map((t) => t.thread_id)).toContain(thread.thread_id);

    const overseer = await clientFor("olga", ["overseers"]);
    expect((await overseer.threads.get(thread.thread_id)).thread_id).toBe(thread.thread_id);
    const overseerSees = (await overseer.threads.search({ limit: 100 })).map((t) => t.thread_id);
    expect(overseerSees).toEqual(expect.arrayContaining([thread.thread_id, bobThread.thread_id]));
  });

  test("a run that creates its thread makes it owned by the caller", async () => {
    const alice = await clientFor("alice", ["runners"]);
    const bob = await clientFor("bob", ["runners"]);
    const threadId = randomUUID();
    await alice.runs.wait(threadId, "echo", { input: { text: "fresh" }, ifNotExists: "create" });
    expect((await alice.threads.get(threadId)).thread_id).toBe(threadId);
    expect(await statusOf(bob.threads.get(threadId))).toBe(404);
    // Bob cannot claim an id that already exists.
    expect(await statusOf(bob.threads.create({ threadId, ifExists: "do_nothing" }))).toBe(409);
  });
});

describe("tokens", () => {
  const forged: Array<[string, () => Promise<string>]> = [
    ["expired", () => stack.issuer.mint({ sub: "alice", groups: ["runners"], expiresIn: "-10m" })],
    ["wrong issuer", () => otherIssuer.mint({ sub: "alice", groups: ["runners"] })],
    ["issuer claim of another issuer", () => otherIssuer.mint({ sub: "alice", groups: ["runners"], claims: { iss: stack.issuer.url } })],
    ["wrong audience", () => stack.issuer.mint({ sub: "alice", groups: ["runners"], aud: "someone-else" })],
    [
      "bad signature",
      async () => {
        const t = await stack.issuer.mint({ sub: "alice", groups: ["runners"] });
        const [h, p, s] = t.split(".");
        return `${h}.${p}.${s!.startsWith("A") ? "B" : "A"}${s!.slice(1)}`;
      },
    ],
    [
      "alg none",
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const now = Math.floor(Date.now() / 1000);
        return `${enc({ alg: "none", typ: "JWT" })}.${enc({ iss: stack.issuer.url, sub: "alice", aud: "agentgate", groups: ["runners"], iat: now, exp: now + 600 })}.`;
      },
    ],
    [
      "HS256 signed with the issuer's public key",
      async () => {
        const jwk = stack.issuer.jwks().keys.find((k) => k.kty === "RSA")!;
        const pem = await exportSPKI((await importJWK({ ...jwk, alg: "RS256" }, "RS256")) as Parameters<typeof exportSPKI>[0]);
        return new SignJWT({ groups: ["runners"] })
          .setProtectedHeader({ alg: "HS256", kid: jwk.kid! })
          .setIssuer(stack.issuer.url)
          .setSubject("alice")
          .setAudience("agentgate")
          .setIssuedAt()
          .setExpirationTime("10m")
          .sign(new TextEncoder().encode(pem));
      },
    ],
    [
      "unknown kid",
      async () => {
        const { privateKey } = await generateKeyPair("RS256");
        return new SignJWT({ groups: ["runners"] })
          .setProtectedHeader({ alg: "RS256", kid: "not-a-known-kid" })
          .setIssuer(stack.issuer.url)
          .setSubject("alice")
          .setAudience("agentgate")
          .setIssuedAt()
          .setExpirationTime("10m")
          .sign(privateKey);
      },
    ],
    ["garbage", async () => "not.a.jwt"],
    ["logout token (typ logout+jwt), otherwise valid", () => stack.issuer.mint({ sub: "alice", groups: ["runners"], typ: "logout+jwt" })],
    ["ID token type (typ id_token+jwt), otherwise valid", () => stack.issuer.mint({ sub: "alice", groups: ["runners"], typ: "id_token+jwt" })],
  ];

  test.each(forged)("%s → 401, nothing reaches the upstream", async (_name, make) => {
    stack.hop!.reset();
    const res = await fetch(`${stack.proxyUrl()}/runs/wait`, {
      method: "POST",
      headers: { authorization: `Bearer ${await make()}`, "content-type": "application/json" },
      body: JSON.stringify({ assistant_id: "echo", input: { text: "x" } }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("AUTHN_INVALID");
    expect(stack.hop!.requests).toHaveLength(0);
  });
});

describe("duplicate Authorization headers", () => {
  // fetch merges repeated headers, so the request is written by hand.
  const rawPost = (headers: string[]): Promise<string> => {
    const url = new URL(stack.proxyUrl());
    const body = JSON.stringify({ assistant_id: "echo", input: { text: "x" } });
    return new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`POST /runs/wait HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n${body}`);
      });
      let data = "";
      socket.on("data", (d) => (data += d));
      socket.on("close", () => resolve(data));
    });
  };

  test.each([
    ["valid + garbage", (good: string, _other: string) => [`Authorization: Bearer ${good}`, "Authorization: Bearer not.a.jwt"]],
    ["garbage + valid", (good: string, _other: string) => ["authorization: Bearer not.a.jwt", `AUTHORIZATION: Bearer ${good}`]],
    ["two valid tokens of two identities", (good: string, other: string) => [`Authorization: Bearer ${good}`, `Authorization: Bearer ${other}`]],
    ["the same valid token twice", (good: string, _other: string) => [`Authorization: Bearer ${good}`, `Authorization: Bearer ${good}`]],
  ])("%s → 401, nothing reaches the upstream", async (_name, headers) => {
    const good = await tokenFor("alice", ["runners"]);
    const other = await tokenFor("bob", ["runners"]);
    stack.hop!.reset();
    const reply = await rawPost(headers(good, other));
    expect(reply).toMatch(/^HTTP\/1\.1 401/);
    expect(reply).toContain('"AUTHN_INVALID"');
    expect(stack.hop!.requests).toHaveLength(0);
    // Control: one header with the same token is accepted.
    expect(await rawPost([`Authorization: Bearer ${good}`])).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe("headers and credentials", () => {
  test("client identity headers are dropped; the gateway's identity and key are set; the key never comes back", async () => {
    stack.hop!.reset();
    const token = await tokenFor("alice", ["runners"]);
    const res = await fetch(`${stack.proxyUrl()}/runs/wait`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "x-auth-scheme": "langsmith",
        "x-api-key": "stolen-key",
        "x-agentgate-sub": "root",
        "x-agentgate-identity": "forged",
        "x-tenant-id": "other",
        cookie: "session=1",
      },
      body: JSON.stringify({ assistant_id: "whoami", input: {} }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    const seen = stack.hop!.requests.find((r) => r.path === "/runs/wait")!;
    expect(seen.headers["x-auth-scheme"]).toBeUndefined();
    expect(seen.headers["cookie"]).toBeUndefined();
    expect(seen.headers["x-tenant-id"]).toBeUndefined();
    expect(seen.headers["authorization"]).toBeUndefined();
    expect(seen.headers["x-api-key"]).toBe(stack.upstream.apiKey);
    expect(seen.headers["x-agentgate-sub"]).toBe("alice");
    expect(JSON.stringify(seen.headers)).not.toContain(token);
    const out = JSON.parse(text) as { headers: Record<string, string> };
    expect(out.headers["x-agentgate-sub"]).toBe("alice");
    expect(text).not.toContain(stack.upstream.apiKey);
    for (const [, value] of res.headers) expect(value).not.toContain(stack.upstream.apiKey);
  });
});

describe("bad input and failures", () => {
  let token: string;
  beforeAll(async () => {
    token = await tokenFor("alice", ["runners"]);
  });
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.proxyUrl()}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers ?? {}) } });
  const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  test("invalid JSON is 422, an unknown route is 404, a body over the policy limit is 413", async () => {
    let res = await call("/runs/wait", { method: "POST", body: "{not json" });
    expect([res.status, await codeOf(res)]).toEqual([422, "INVALID_JSON"]);
    res = await call("/admin/secrets", { method: "GET" });
    expect([res.status, await codeOf(res)]).toEqual([404, "ROUTE_UNKNOWN"]);
    res = await call("/runs/wait", { method: "POST", body: JSON.stringify({ assistant_id: "echo", input: { text: "x".repeat(70_000) } }) });
    expect([res.status, await codeOf(res)]).toEqual([413, "BODY_TOO_LARGE"]);
    res = await call("/runs/wait", { method: "POST", body: JSON.stringify({ input: {} }) });
    expect(res.status).toBe(400);
    res = await call("/runs/wait", { method: "POST", body: "assistant_id=echo", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect([res.status, await codeOf(res)]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
  });

  test("the events protocol and WebSocket upgrades are refused, not passed through", async () => {
    const res = await call(`/threads/${randomUUID()}/stream/events`, { method: "POST", body: "{}" });
    expect([res.status, await codeOf(res)]).toEqual([501, "ROUTE_UNSUPPORTED"]);
    const reply = await new Promise<string>((resolve) => {
      const url = new URL(stack.proxyUrl());
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`GET /threads/x/stream/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      let data = "";
      socket.on("data", (d) => (data += d));
      socket.on("close", () => resolve(data));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 501/);
  });

  test("conflicting Content-Length and Transfer-Encoding is rejected (no smuggling)", async () => {
    const url = new URL(stack.proxyUrl());
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`POST /runs/wait HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /info HTTP/1.1\r\nHost: x\r\n\r\n`);
      });
      let data = "";
      socket.on("data", (d) => (data += d));
      socket.on("close", () => resolve(data));
      setTimeout(() => socket.destroy(), 2000);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply.match(/HTTP\/1\.1/g)).toHaveLength(1);
  });

  test("an unreachable upstream is a 502 with the JSON error shape", async () => {
    const res = await call("/c/dead/assistants/search", { method: "POST", body: "{}" });
    expect([res.status, await codeOf(res)]).toEqual([502, "UPSTREAM_UNAVAILABLE"]);
  });
});

describe("input checks and limits", () => {
  test("denylisted input and an excessive recursion_limit are 422 and never forwarded", async () => {
    stack.hop!.reset();
    const client = await clientFor("lim-1", ["limited"]);
    expect(await statusOf(client.runs.wait(null, "echo", { input: { text: "please DROP   TABLE users" } }))).toBe(422);
    expect(await statusOf(client.runs.wait(null, "echo", { input: { text: "x" }, config: { recursion_limit: 500 } }))).toBe(422);
    expect(stack.hop!.requests).toHaveLength(0);
  });

  test("a burst over the rate limit is 429 with Retry-After; other identities are not affected", async () => {
    const token = await tokenFor("lim-2", ["bursty"]);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${stack.proxyUrl()}/assistants/search`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get("retry-after");
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
      } else await res.arrayBuffer();
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses.slice(4)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const other = await clientFor("lim-3", ["bursty"]);
    expect((await other.assistants.search()).length).toBeGreaterThan(0);
  });

  test("a client that disconnects mid-stream with on_disconnect cancel ends the exchange at once (upstream run cancelled, slot freed)", async () => {
    const token = await tokenFor("lim-5", ["limited"]);
    const abort = new AbortController();
    const res = await fetch(`${stack.proxyUrl()}/runs/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ assistant_id: "slow", input: { steps: 10, delay_ms: 300 }, stream_mode: "updates", on_disconnect: "cancel" }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the first event arrived: the run is under way and holds the only slot
    abort.abort();
    // The 3 s run would hold the slot until it ends; a cancelled run releases it now
    // (without on_disconnect cancel the run goes on, and so does its slot: see e2e/limits.test.ts).
    const client = await clientFor("lim-5", ["limited"]);
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = await statusOf(client.runs.wait(null, "echo", { input: { text: "next" } }));
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });

  test("a second concurrent run over concurrentRuns is 429 until the first ends", async () => {
    const client = await clientFor("lim-4", ["limited"]);
    const forwarded = stack.hop!.requests.length;
    const first = client.runs.wait(null, "slow", { input: { steps: 5, delay_ms: 200 } });
    // Forwarded upstream = admitted with the only slot (not a fixed sleep: a busy machine may admit it later).
    for (let i = 0; i < 400 && !stack.hop!.requests.slice(forwarded).some((r) => r.path.endsWith("/runs/wait")); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await statusOf(client.runs.wait(null, "echo", { input: { text: "second" } }))).toBe(429);
    await first;
    expect(await client.runs.wait(null, "echo", { input: { text: "after" } })).toMatchObject({ text: "after" });
  });
});

describe("escalation attempts", () => {
  test("an assistant cannot be created on, or moved to, a graph outside the policy", async () => {
    const editor = await clientFor("ed", ["editors"]);
    const mine = await editor.assistants.create({ graphId: "echo", name: "mine" });
    expect(await statusOf(editor.assistants.create({ graphId: "leaky" }))).toBe(403);
    expect(await statusOf(editor.assistants.update(mine.assistant_id, { graphId: "leaky" }))).toBe(403);
    expect(await editor.runs.wait(null, mine.assistant_id, { input: { text: "still echo" } })).toMatchObject({ text: "still echo" });
  });

  test("a run with a webhook is refused (the upstream would call any URL)", async () => {
    const client = await clientFor("alice", ["runners"]);
    expect(await statusOf(client.runs.wait(null, "echo", { input: {}, webhook: "http://169.254.169.254/latest/meta-data" }))).toBe(422);
  });

  test("a body that trickles in slower than the read timeout does not hold the proxy", async () => {
    // Covered by the read-body unit test with a short timeout; here: a partial body then close.
    const url = new URL(stack.proxyUrl());
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write(`POST /runs/wait HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a":`));
      let data = "";
      socket.on("data", (d) => (data += d));
      socket.on("close", () => resolve(data));
      setTimeout(() => socket.destroy(), 500);
    });
    expect(reply).toBe(""); // nothing answered before the body is complete, and no crash
    expect((await fetch(`${stack.proxyUrl()}/healthz`)).status).toBe(200);
  });
});
