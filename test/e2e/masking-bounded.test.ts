/**
 * Bounded masking end to end (#12 item 6, #11), through a real proxy and the real SDK against
 * a scripted upstream: bodies of 16 KiB and more (also a filtered list the proxy
 * re-serialises) and SSE events of 16 K characters and more are masked by the proxy's masking
 * pool (worker threads), so a hostile body or event costs the event loop a copy, not the
 * detector work — /healthz answers while an event is masked (counted between its last byte and
 * its arrival, not timed); a body the pool cannot mask within AGENTGATE_MASK_TIMEOUT_MS is refused (502), an
 * event cuts its stream, neither is relayed; a large request body reaches the upstream masked.
 * Attacker: a hostile upstream (or stored content) built to make masking expensive.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { startScriptedUpstream, type ScriptedUpstream } from "../helpers/scripted-upstream.js";

const EMAIL = "bob.secret@example.com";
const CARD = "4111 1111 1111 1111";
const AWS = "AKIAZ7VQ4NMRXW2HT5LP";

/** ~300 KB of hostile shapes with the secrets planted between them. */
const LARGE_DOC = JSON.stringify({
  notes: `${"password=".repeat(10_000)} ${EMAIL} ${"4111 ".repeat(20_000)} ${CARD} ${"::1 ".repeat(20_000)} ${AWS}`,
  items: Array.from({ length: 2000 }, (_, i) => ({ api_key: `v${i}`, text: i % 500 === 0 ? `mail ${EMAIL}` : `row ${i}` })),
});
/** ~24 MB of IPv6 addresses: seconds of detector work in any worker, far past the 3 s bound. */
const HUGE_TEXT = "::1 ".repeat(6_000_000);

const received: string[] = [];

/**
 * An upstream answer that stops before its last bytes until the test releases it: once those
 * are written the proxy holds the whole hostile body or event (TCP keeps order), so a /healthz
 * sent then arrives while the proxy masks it.
 */
interface Gate {
  /** Everything but the last bytes is written. */
  readonly held: Promise<void>;
  release(): void;
  /** The last bytes are written. */
  readonly done: Promise<void>;
}
let gate: (Gate & { heldNow(): void; released: Promise<void>; doneNow(): void }) | undefined;

function armGate(): Gate {
  let heldNow!: () => void;
  let release!: () => void;
  let doneNow!: () => void;
  const held = new Promise<void>((r) => (heldNow = r));
  const released = new Promise<void>((r) => (release = r));
  const done = new Promise<void>((r) => (doneNow = r));
  gate = { held, release, done, heldNow, released, doneNow };
  return gate;
}

/** Writes `text` but its last `tail` characters, waits for the test, then writes the rest. */
async function writeGated(res: ServerResponse, text: string, tail: number): Promise<void> {
  const g = gate!;
  gate = undefined;
  await new Promise<void>((r) => res.write(text.slice(0, -tail), () => r()));
  g.heldNow();
  await g.released;
  await new Promise<void>((r) => res.write(text.slice(-tail), () => r()));
  g.doneNow();
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const tokenEvent = (content: string, last = false) =>
  sse("messages", [{ content, id: "m1", type: "AIMessageChunk", tool_call_chunks: [], response_metadata: last ? { finish_reason: "stop" } : {} }, { langgraph_node: "agent" }]);
/** ~0.5 MB: the hostile shapes in one `values` event, a secret inside, a marker to see it arrive. */
const BIG_EVENT = sse("values", { marker: "big-event-here", text: `${"password=".repeat(20_000)} ${EMAIL} ${"4111 ".repeat(20_000)} ${"::1 ".repeat(20_000)}`, items: Array.from({ length: 4000 }, (_, i) => ({ api_key: `v${i}` })) });
/** ~14 MB of IPv6 addresses in one event: far past the 3 s bound in any worker. */
const HUGE_EVENT = `event: custom\ndata: ${"::1 ".repeat(3_500_000)} ${EMAIL}\n\n`;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://x");
  if (req.method === "POST" && url.pathname === "/assistants/search") {
    const text = await body(req);
    received.push(text);
    const scenario = (JSON.parse(text) as { metadata?: { scenario?: string } }).metadata?.scenario;
    if (scenario === "huge") {
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end(HUGE_TEXT);
    }
    res.writeHead(200, { "content-type": "application/json" });
    const list = `[{"assistant_id":"00000000-0000-4000-8000-000000000001","graph_id":"scripted","metadata":${LARGE_DOC}}]`;
    return void res.end(list);
  }
  if (req.method === "POST" && url.pathname === "/runs/stream") {
    const scenario = (JSON.parse(await body(req)) as { input?: { scenario?: string } }).input?.scenario;
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(tokenEvent("my card is 4111 1111"));
    if (scenario === "huge") res.write(HUGE_EVENT);
    else await writeGated(res, BIG_EVENT, 2); // the blank line that ends the event comes last
    res.write(sse("custom", { progress: "step 2" }));
    return void res.end(tokenEvent(" 1111 1111 thanks", true));
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end('{"detail":"not found"}');
}

let upstream: ScriptedUpstream | undefined;
let e2e: E2eStack;
let client: Client;
let token: string;

beforeAll(async () => {
  upstream = await startScriptedUpstream(handle);
  const upstreamUrl = upstream.url;
  e2e = await startE2eStack({
    provider: "sqlite",
    store: true,
    env: { AGENTGATE_MASK_TIMEOUT_MS: "3000" },
    policy: (input) =>
      stringify({
        identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
        roles: [{ name: "dev", bindings: [{ issuer: input.issuerUrl, group: "devs" }] }],
        connections: [{ name: "scripted", baseUrl: upstreamUrl, credentialEnv: input.credentialEnv }],
        policies: [{ name: "dev", role: "dev", connection: "scripted", graphs: ["scripted"], operations: ["assistants:*", "runs:*"] }],
      }),
  });
  token = await e2e.stack.issuer.mint({ sub: "bounded-user", groups: ["devs"] });
  client = new Client({ apiUrl: e2e.stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
}, 120_000);

afterAll(async () => {
  await e2e?.stop();
  await upstream?.close();
});

const leaks = (text: string) => [EMAIL, CARD, AWS].filter((s) => text.includes(s));

/**
 * Once the gated answer's last bytes are written (the proxy now holds the whole hostile body
 * or event), calls /healthz again and again, one after the other, until `arrived()`: how many
 * answered before the masked answer reached the client. A proxy masking on its event loop
 * answers none while it masks (at most the one waiting when it is done); one masking in a
 * worker answers one after another meanwhile.
 */
async function healthzUntil(g: Gate, arrived: () => boolean): Promise<number> {
  await g.held;
  g.release();
  await g.done;
  let answered = 0;
  while (!arrived()) {
    const res = await fetch(`${e2e.stack.proxyUrl()}/healthz`);
    expect(res.status).toBe(200);
    if (!arrived()) answered++;
    await new Promise((r) => setTimeout(r, 10)); // leave the CPU to the masking worker (2 shared cores)
  }
  return answered;
}

/** Runs a stream through the proxy: its text; "event" pushed to `order` when the big event arrives. */
async function streamRun(scenario: string, order: string[]): Promise<{ text: string; error: unknown }> {
  const res = await fetch(`${e2e.stack.proxyUrl()}/runs/stream`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: "scripted", input: { scenario }, stream_mode: ["messages-tuple", "values", "custom"] }),
  });
  expect(res.status).toBe(200);
  const decoder = new TextDecoder();
  let text = "";
  try {
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (text.includes("big-event-here") && !order.includes("event")) order.push("event");
    }
  } catch (error) {
    return { text, error }; // the proxy cut the stream
  }
  return { text, error: undefined };
}

test("a hostile large SSE event is masked off the proxy's event loop: /healthz answers while it is masked, no secret reaches the client", async () => {
  const order: string[] = [];
  const g = armGate();
  let ended = false;
  const stream = streamRun("big", order).finally(() => (ended = true));
  const [run, answered] = await Promise.all([stream, healthzUntil(g, () => ended || order.includes("event"))]);
  expect(answered).toBeGreaterThanOrEqual(3);
  expect(leaks(run.text)).toEqual([]);
  expect(run.error).toBeUndefined();
  // the card split around the large event is masked, the rest arrives
  const content = run.text
    .split("\n")
    .filter((l) => l.startsWith("data: [{"))
    .map((l) => (JSON.parse(l.slice(6)) as Array<{ content: string }>)[0]!.content)
    .join("");
  expect(content).toBe("my card is [REDACTED:credit_card] thanks");
  for (const label of ["email", "api_key"]) expect(run.text).toContain(`[REDACTED:${label}]`);
}, 120_000);

test("an SSE event the pool cannot mask within its bound cuts the stream: nothing of it reaches the client", async () => {
  const run = await streamRun("huge", []);
  expect(leaks(run.text)).toEqual([]);
  expect(run.text).not.toContain("::1 ::1");
  expect(run.text).not.toContain("thanks"); // nothing after it either
  expect(run.text).toContain("MASKING_BOUND");
  // recorded as cut for masking, not as a broken upstream
  const deadline = Date.now() + 15_000;
  let codes: Array<string | null> = [];
  while (Date.now() < deadline) {
    codes = (await e2e.store!.prisma.session.findMany({ where: { subject: "bounded-user", operation: "runs:stream" } })).map((r) => r.errorCode);
    if (codes.includes("MASKING_BOUND")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(codes).toContain("MASKING_BOUND");
  // the proxy goes on serving
  const found = await client.assistants.search({ metadata: { scenario: "large" } });
  expect(leaks(JSON.stringify(found))).toEqual([]);
}, 120_000);

test("a large hostile response (a search the proxy filters, then re-serialises) is masked by the pool: no planted secret reaches the client", async () => {
  const found = await client.assistants.search({ metadata: { scenario: "large" } });
  const text = JSON.stringify(found);
  expect(text.length).toBeGreaterThan(200_000);
  expect(leaks(text)).toEqual([]);
  for (const label of ["email", "credit_card", "aws_access_key", "api_key"]) expect(text).toContain(`[REDACTED:${label}]`);
});

test("a large request body reaches the upstream masked", async () => {
  received.length = 0;
  const padding = "lorem ipsum ".repeat(3000); // > 16 KiB: masked by the pool
  await client.assistants.search({ metadata: { scenario: "large", note: `${padding} write to ${EMAIL}, card ${CARD}` } });
  expect(received).toHaveLength(1);
  expect(received[0]!.length).toBeGreaterThan(30_000);
  expect(leaks(received[0]!)).toEqual([]);
  expect(received[0]).toContain("[REDACTED:email]");
});

test("a body the pool cannot mask within its bound is refused (502), and the proxy goes on serving", async () => {
  const res = await fetch(`${e2e.stack.proxyUrl()}/assistants/search`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ metadata: { scenario: "huge" } }),
  });
  expect(res.status).toBe(502);
  const err = (await res.json()) as { error: { code: string; message: string } };
  expect(err.error.code).toBe("UPSTREAM_UNAVAILABLE");
  expect(err.error.message).toContain("within the gateway's bounds");
  // the pool replaced its worker: the next large body is masked as usual
  const found = await client.assistants.search({ metadata: { scenario: "large" } });
  expect(leaks(JSON.stringify(found))).toEqual([]);
}, 60_000);
