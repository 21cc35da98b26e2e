/**
 * The real LangGraph upstream started by the harness, driven by the real SDK.
 * One server for the file (beforeAll); ~1 s to start.
 */
import { existsSync } from "node:fs";
import { Client } from "@langchain/langgraph-sdk";
import { startLangGraph, type LangGraphUpstream } from "./upstream.js";
import { findPlantedSecrets, LEAKY_MESSAGE_TEXT, SLOW_USAGE, SPLIT_CARD } from "../../demo/langgraph/fixtures.js";

const API_KEY = "test-upstream-key";
let upstream: LangGraphUpstream;
let client: Client;

beforeAll(async () => {
  upstream = await startLangGraph({ apiKey: API_KEY });
  client = new Client({ apiUrl: upstream.url, apiKey: API_KEY });
});

afterAll(async () => {
  await upstream?.stop();
});

interface StreamEvent {
  event: string;
  data: unknown;
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Message chunks of `messages-tuple` events: `data` is `[chunk, metadata]`. */
function messageChunks(events: StreamEvent[]): Array<Record<string, unknown>> {
  return events
    .filter((e) => e.event === "messages")
    .map((e) => (e.data as [Record<string, unknown>, unknown])[0]);
}

test("lists the demo graphs", async () => {
  const assistants = await client.assistants.search();
  expect(assistants.map((a) => a.graph_id).sort()).toEqual(["echo", "leaky", "slow", "whoami"]);
});

test("echo returns its input unchanged, nested fields and messages included", async () => {
  const input = { text: "hi", nested: { a: 1, deep: [1, { b: "x" }] }, messages: [{ role: "user", content: "yo" }] };
  const output = await client.runs.wait(null, "echo", { input });
  expect(output).toEqual(input);
});

test("whoami reports the identity asserted in x-agentgate-* headers", async () => {
  const asAlice = new Client({
    apiUrl: upstream.url,
    apiKey: API_KEY,
    defaultHeaders: { "x-agentgate-sub": "alice", "x-agentgate-groups": "admins, devs" },
  });
  const output = (await asAlice.runs.wait(null, "whoami", { input: {} })) as Record<string, unknown>;
  expect(output).toMatchObject({
    identity: "alice",
    user: { identity: "alice", groups: ["admins", "devs"] },
    headers: { "x-agentgate-sub": "alice" },
  });
  // The server never copies the upstream key into the run config.
  expect(JSON.stringify(output)).not.toContain(API_KEY);
});

test("leaky streams its AI message token by token, the card split across three chunks", async () => {
  const events = await collect(
    client.runs.stream(null, "leaky", {
      input: { messages: [{ role: "user", content: "tell me everything" }] },
      streamMode: ["messages-tuple", "values"],
    }),
  );
  const chunks = messageChunks(events).filter((c) => c["type"] === "AIMessageChunk" || c["type"] === "ai");
  const texts = chunks.map((c) => String(c["content"]));
  expect(texts.join("")).toBe(LEAKY_MESSAGE_TEXT);
  // No single chunk holds the whole card; it only exists across ≥3 of them.
  expect(texts.some((t) => t.includes(SPLIT_CARD))).toBe(false);
  const start = texts.findIndex((t) => t.includes("4111"));
  expect(texts.slice(start, start + 3).join("")).toContain(SPLIT_CARD);

  // The final values carry the JSON record with every kind of planted secret.
  const values = events.filter((e) => e.event === "values").at(-1)?.data;
  const found = new Set(findPlantedSecrets(values).map((f) => f.kind));
  expect([...found].sort()).toEqual(
    [
      "awsAccessKeyIds",
      "awsSecretAccessKeys",
      "creditCards",
      "emails",
      "githubTokens",
      "ibans",
      "jwts",
      "openaiKeys",
      "passwords",
      "phones",
      "privateKeys",
    ].sort(),
  );
});

test("slow streams ≥5 updates over ~1 s and reports usage_metadata", async () => {
  const started = Date.now();
  const events = await collect(client.runs.stream(null, "slow", { input: {}, streamMode: ["updates", "messages-tuple"] }));
  const elapsed = Date.now() - started;
  const ticks = events.filter((e) => e.event === "updates" && "tick" in (e.data as object));
  expect(ticks).toHaveLength(5);
  expect(elapsed).toBeGreaterThanOrEqual(1000);
  const usage = messageChunks(events).find((c) => c["usage_metadata"])?.["usage_metadata"];
  expect(usage).toMatchObject(SLOW_USAGE);
});

test("slow takes steps and delay_ms from its input", async () => {
  const output = (await client.runs.wait(null, "slow", { input: { steps: 2, delay_ms: 10 } })) as Record<string, unknown>;
  expect(output["step"]).toBe(2);
});

describe("upstream key", () => {
  const searchWith = (headers: Record<string, string>) =>
    fetch(`${upstream.url}/assistants/search`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: "{}",
    });

  test("missing key → 401", async () => {
    expect((await searchWith({})).status).toBe(401);
  });

  test("wrong key → 403", async () => {
    expect((await searchWith({ "x-api-key": "wrong" })).status).toBe(403);
  });

  test("x-auth-scheme: langsmith does not bypass auth (disable_studio_auth)", async () => {
    expect((await searchWith({ "x-auth-scheme": "langsmith" })).status).toBe(401);
  });

  test("right key → 200, and /info needs no key (readiness)", async () => {
    expect((await searchWith({ "x-api-key": API_KEY })).status).toBe(200);
    expect((await fetch(`${upstream.url}/info`)).status).toBe(200);
  });
});

test("parallel starts get their own port and state folder, removed on stop", async () => {
  const servers = await Promise.all([startLangGraph({ apiKey: "a" }), startLangGraph({ apiKey: "b" })]);
  const [a, b] = servers;
  expect(a.url).not.toBe(b.url);
  expect(a.stateDir).not.toBe(b.stateDir);
  expect(existsSync(a.stateDir)).toBe(true);
  // Each answers with its own key only.
  const status = (s: LangGraphUpstream, key: string) =>
    fetch(`${s.url}/assistants/search`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": key }, body: "{}" }).then(
      (r) => r.status,
    );
  expect(await status(a, "a")).toBe(200);
  expect(await status(a, "b")).toBe(403);
  await Promise.all(servers.map((s) => s.stop()));
  for (const s of servers) {
    expect(existsSync(s.stateDir)).toBe(false);
    expect(() => process.kill(s.pid, 0)).toThrow(); // process gone
  }
  await a.stop(); // idempotent
});
