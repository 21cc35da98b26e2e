/** The counting hop records what reaches the upstream and streams without buffering. */
import { Client } from "@langchain/langgraph-sdk";
import { startCountingHop, type CountingHop } from "./counting-hop.js";
import { startLangGraph, type LangGraphUpstream } from "./upstream.js";

const API_KEY = "hop-test-key";
let upstream: LangGraphUpstream;
let hop: CountingHop;

beforeAll(async () => {
  upstream = await startLangGraph({ apiKey: API_KEY });
  hop = await startCountingHop(upstream.url);
});

afterAll(async () => {
  await hop?.stop();
  await upstream?.stop();
});

beforeEach(() => hop.reset());

const post = (path: string, body: unknown) =>
  fetch(`${hop.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": API_KEY },
    body: JSON.stringify(body),
  });

test("records method, path and headers of every request the SDK makes", async () => {
  const client = new Client({ apiUrl: hop.url, apiKey: API_KEY, defaultHeaders: { authorization: "Bearer client-token" } });
  await client.assistants.search({ graphId: "echo" });
  const output = await client.runs.wait(null, "echo", { input: { text: "hi" } });
  expect(output).toEqual({ text: "hi" });

  expect(hop.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /assistants/search", "POST /runs/wait"]);
  for (const r of hop.requests) {
    expect(r.headers["x-api-key"]).toBe(API_KEY);
    // Faithful record: what the client sent is what the upstream got.
    expect(r.headers["authorization"]).toBe("Bearer client-token");
    expect(r.status).toBe(200);
  }
  hop.reset();
  expect(hop.requests).toHaveLength(0);
});

test("SSE events pass through as they are produced", async () => {
  const started = Date.now();
  const response = await post("/runs/stream", {
    assistant_id: "slow",
    input: { steps: 3, delay_ms: 300 },
    stream_mode: ["updates"],
  });
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const arrivals: number[] = [];
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    const part = decoder.decode(chunk, { stream: true });
    text += part;
    for (const _ of part.matchAll(/"tick"/g)) arrivals.push(Date.now() - started);
  }
  expect(arrivals).toHaveLength(3);
  // Unbuffered: the first tick arrived about 600 ms before the last one.
  expect(arrivals[2]! - arrivals[0]!).toBeGreaterThanOrEqual(450);
  expect(text).toContain("event: updates");
  expect(hop.requests[0]).toMatchObject({ method: "POST", path: "/runs/stream", status: 200 });
});

test("runs/wait headers arrive before the run ends", async () => {
  // Order, not duration: when the headers reach the client, the thread's run is still going
  // (the upstream reports it busy); the answer comes once it is done. The 3 s run leaves a
  // loaded machine ample margin to read the status in between.
  const client = new Client({ apiUrl: upstream.url, apiKey: API_KEY });
  const thread = await client.threads.create();
  const response = await post(`/threads/${thread.thread_id}/runs/wait`, { assistant_id: "slow", input: { steps: 3, delay_ms: 1000 } });
  expect((await client.threads.get(thread.thread_id)).status).toBe("busy");
  const body = JSON.parse(await response.text()) as Record<string, unknown>;
  expect(body["step"]).toBe(3);
});

test("answers 502 when the target is down", async () => {
  const dead = await startCountingHop("http://127.0.0.1:1");
  try {
    const response = await fetch(`${dead.url}/info`);
    expect(response.status).toBe(502);
    expect(dead.requests).toHaveLength(1);
  } finally {
    await dead.stop();
  }
});
