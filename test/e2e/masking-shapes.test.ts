/**
 * Masking end to end against a hostile scripted upstream (a plain HTTP server standing in
 * for LangGraph), through a real proxy and the real SDK:
 *  - JSON under any label and encoding (none, text/plain, octet-stream, Application/JSON,
 *    UTF-8 BOM, UTF-16) is masked structurally; what cannot be inspected is refused (502);
 *  - SSE streams where secrets are split across events of one logical text with unrelated
 *    events (other modes, nodes, custom channels) in between never reassemble a secret;
 *  - response headers (x-*, link) are masked; query strings are masked before they reach
 *    the upstream, and recorded masked.
 * Attacker: a hostile or careless upstream, a prompt that spells out a secret.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Client } from "@langchain/langgraph-sdk";
import fc from "fast-check";
import { stringify } from "yaml";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { startScriptedUpstream, type ScriptedUpstream } from "../helpers/scripted-upstream.js";
import { reassemble, stream as randomStream } from "../../common/masking/testing/streams.js";

const EMAIL = "bob.secret@example.com";
const CARD = "4111 1111 1111 1111";
const AWS = "AKIAZ7VQ4NMRXW2HT5LP";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const SECRETS = [EMAIL, CARD, CARD.replace(/ /g, ""), AWS, JWT];

/** JSON whose secrets only show once parsed: \u escapes, key-named fields. */
const ESCAPED_DOC =
  '{"contact":"bob.secret\\u0040example.com","pan":"\\u0034111 1111 1111 1111","cvv":"123","ssn":"078-05-1120","password":"pw-1","webhook":"https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/abcdefghijklmnopqrstuvwx"}';

const ENCODINGS: Record<string, (s: string) => Buffer> = {
  "utf-8": (s) => Buffer.from(s),
  bom: (s) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s)]),
  "utf-16le": (s) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")]),
};
const LABELS = ["", "text/plain", "application/octet-stream", "Application/JSON", "application/json; charset=utf-16le"];

// ------------------------------------------------------------------ the scripted upstream

const seenUrls: string[] = [];
/** Request bodies as the upstream received them (text: a JSON parser would round long integers). */
const seenBodies: string[] = [];
/** Generated streams the upstream serves, by `input.case`. */
const scriptedStreams = new Map<number, { bytes: Buffer; byteCuts: number[] }>();

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
const chunk = (id: string, fields: Record<string, unknown>) => [
  { id, type: "AIMessageChunk", content: "", tool_call_chunks: [], response_metadata: {}, ...fields },
  { langgraph_node: `node-${id}`, run_id: "run-1" },
];

/** A run stream where each secret is split across events of one logical text, interleaved with unrelated events. */
const STREAM = [
  sse("metadata", { run_id: "run-1", attempt: 1 }),
  sse("messages", chunk("m1", { content: "Your card is 4111 11" })),
  sse("updates", { other: { status: "working" } }),
  sse("custom", { delta: "mail bob.secret@exa" }),
  sse("messages", chunk("m1", { content: "11 1111 " })),
  sse("messages", chunk("m2", { content: [{ type: "thinking", thinking: "key AKIAZ7VQ", index: 0 }] })),
  sse("values", { messages: [] }),
  sse("messages", chunk("m3", {
    tool_call_chunks: [{ name: "call", args: '{"token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkw', id: "c1", index: 0, type: "tool_call_chunk" }],
    tool_calls: [{ name: "call", args: { token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkw" }, id: "c1", type: "tool_call" }],
  })),
  sse("messages", chunk("m1", { content: "1111 thanks" })),
  sse("custom", { delta: "mple.com please" }),
  sse("messages", chunk("m2", { content: [{ type: "thinking", thinking: "4NMRXW2HT5LP done", index: 0 }] })),
  sse("updates|sub:1", { inner: {} }),
  sse("messages", chunk("m3", {
    tool_call_chunks: [{ name: null, args: 'IiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"}', id: null, index: 0, type: "tool_call_chunk" }],
    invalid_tool_calls: [{ name: null, args: 'IiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"}', id: null, error: null, type: "invalid_tool_call" }],
  })),
];

async function readJson(req: IncomingMessage): Promise<Record<string, any>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  seenBodies.push(text);
  return text ? (JSON.parse(text) as Record<string, any>) : {};
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  seenUrls.push(req.url ?? "");
  const url = new URL(req.url ?? "/", "http://x");
  if (req.method === "POST" && url.pathname === "/assistants/search") {
    const scenario = String((await readJson(req)).metadata?.scenario ?? "");
    const [label, encoding] = scenario.split("|");
    if (label === "binary") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      return void res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0xff, 0xfe]));
    }
    // card numbers as JSON numbers: 19 digits (JSON.parse rounds them) and a negative one
    const metadata = label === "numbers" ? '{"pan":6212345678901234569,"pan2":6.212345678901234569e18,"neg":-4111111111111111}' : ESCAPED_DOC;
    const body = `[{"assistant_id":"00000000-0000-4000-8000-000000000001","graph_id":"scripted","metadata":${metadata}}]`;
    const headers: Record<string, string> = {
      "x-contact": EMAIL,
      "x-aws-key": AWS,
      link: `<https://api.example.com/assistants?page=2&jwt=${JWT}>; rel="next"`,
      "x-trace": "plain-value",
    };
    if (label) headers["content-type"] = label === "numbers" ? "application/json" : label;
    res.writeHead(200, headers);
    return void res.end(ENCODINGS[encoding!]!(body));
  }
  if (req.method === "POST" && url.pathname === "/runs/stream") {
    const scripted = scriptedStreams.get(Number((await readJson(req)).input?.case));
    if (scripted !== undefined) {
      // a generated stream, written in the generated chunks
      res.writeHead(200, { "content-type": "text/event-stream" });
      const { bytes, byteCuts } = scripted;
      const points = [...new Set(byteCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      for (let i = 0; i <= points.length; i++) {
        res.write(bytes.subarray(points[i - 1] ?? 0, points[i] ?? bytes.length));
        await new Promise((r) => setImmediate(r));
      }
      return void res.end();
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const ev of STREAM) {
      res.write(ev);
      await new Promise((r) => setTimeout(r, 2)); // separate TCP writes, as a real server sends them
    }
    return void res.end();
  }
  if (req.method === "GET" && url.pathname === "/store/items") {
    res.writeHead(200, { "content-type": "application/json" });
    return void res.end(JSON.stringify({ namespace: ["a"], key: "k", value: { ok: true }, created_at: "", updated_at: "" }));
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
    policy: (input) =>
      stringify({
        identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
        roles: [
          { name: "dev", bindings: [{ issuer: input.issuerUrl, group: "devs" }] },
          { name: "raw", bindings: [{ issuer: input.issuerUrl, group: "raw" }] },
        ],
        connections: [{ name: "scripted", baseUrl: upstreamUrl, credentialEnv: input.credentialEnv }],
        // An explicit opt-in: bodies that cannot be inspected are relayed for this policy only.
        maskingProfiles: [{ name: "binary-ok", rules: [{ kind: "detector", match: "email" }, { kind: "passthrough", match: "uninspectable" }] }],
        policies: [
          { name: "dev", role: "dev", connection: "scripted", graphs: ["scripted"], operations: ["assistants:*", "runs:*", "store:*"] },
          { name: "raw", role: "raw", connection: "scripted", graphs: ["scripted"], operations: ["assistants:*"], maskingProfile: "binary-ok" },
        ],
      }),
  });
  token = await e2e.stack.issuer.mint({ sub: "shape-user", groups: ["devs"] });
  client = new Client({ apiUrl: e2e.stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
}, 120_000);

afterAll(async () => {
  await e2e?.stop();
  await upstream?.close();
});

const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));

describe("JSON is masked by what it is, not by its label", () => {
  const cases = LABELS.flatMap((label) => Object.keys(ENCODINGS).map((enc) => [label || "(none)", enc] as const)).filter(
    ([label, enc]) => !(label.includes("utf-16le") && enc !== "utf-16le"),
  );
  test.each(cases)("content-type %s, %s body", async (label, enc) => {
    const found = await client.assistants.search({ metadata: { scenario: `${label === "(none)" ? "" : label}|${enc}` } });
    const text = JSON.stringify(found);
    expect(leaks(text)).toEqual([]);
    expect(found[0]!.metadata).toEqual({
      contact: "[REDACTED:email]",
      pan: "[REDACTED:credit_card]",
      cvv: "[REDACTED:cvv]",
      ssn: "[REDACTED:ssn]",
      password: "[REDACTED:password]",
      webhook: "[REDACTED:slack_webhook]",
    });
  });

  test("card numbers sent as JSON numbers, beyond 2^53 or negative, are masked by the digits the upstream wrote", async () => {
    const res = await fetch(`${e2e.stack.proxyUrl()}/assistants/search`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ metadata: { scenario: "numbers|utf-8" } }),
    });
    const raw = await res.text(); // read as bytes: a JSON client would round the digits itself
    expect(res.status).toBe(200);
    expect(raw).not.toContain("6212345678901234569");
    expect(raw).not.toContain("212345678901234569e18");
    expect(raw).not.toContain("4111111111111111");
    expect((JSON.parse(raw) as Array<{ metadata: unknown }>)[0]!.metadata).toEqual({
      pan: "[REDACTED:credit_card]",
      pan2: "[REDACTED:credit_card]",
      neg: "[REDACTED:credit_card]",
    });
  });

  test("…and in a request body, before it is forwarded", async () => {
    seenBodies.length = 0;
    const res = await fetch(`${e2e.stack.proxyUrl()}/assistants/search`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: '{"metadata":{"scenario":"|utf-8"},"limit":10,"offset":0,"pan":6212345678901234569,"neg":-4111111111111111}',
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const sent = seenBodies.at(-1)!;
    expect(sent).toContain('"pan":"[REDACTED:credit_card]"');
    expect(sent).not.toContain("6212345678901234569");
    expect(sent).not.toContain(String(Number("6212345678901234569"))); // the rounded digits
    expect(sent).not.toContain("4111111111111111");
  });

  test("a body that cannot be inspected is refused with 502, never relayed", async () => {
    const res = await fetch(`${e2e.stack.proxyUrl()}/assistants/search`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ metadata: { scenario: "binary|" } }),
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("UPSTREAM_UNAVAILABLE");
  });

  test("…unless the policy's masking profile explicitly lets uninspectable bodies through", async () => {
    const raw = await e2e.stack.issuer.mint({ sub: "raw-user", groups: ["raw"] });
    const res = await fetch(`${e2e.stack.proxyUrl()}/assistants/search`, {
      method: "POST",
      headers: { authorization: `Bearer ${raw}`, "content-type": "application/json" },
      body: JSON.stringify({ metadata: { scenario: "binary|" } }),
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0xff, 0xfe]));
  });
});

test("response headers are masked (x-*, link); the allow-list passes as sent", async () => {
  const res = await fetch(`${e2e.stack.proxyUrl()}/assistants/search`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ metadata: { scenario: "application/json|utf-8" } }),
  });
  expect(res.status).toBe(200);
  const all = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join("\n");
  expect(leaks(all)).toEqual([]);
  expect(res.headers.get("x-contact")).toBe("[REDACTED:email]");
  expect(res.headers.get("x-aws-key")).toBe("[REDACTED:aws_access_key]");
  expect(res.headers.get("link")).toBe('<https://api.example.com/assistants?page=2&jwt=[REDACTED:jwt]>; rel="next"');
  expect(res.headers.get("x-trace")).toBe("plain-value");
  expect(res.headers.get("content-type")).toBe("application/json");
});

test("a stream with secrets split across interleaved events never lets a client reassemble one", async () => {
  const byText = new Map<string, string>();
  const add = (k: string, v: unknown) => typeof v === "string" && byText.set(k, (byText.get(k) ?? "") + v);
  let raw = "";
  for await (const part of client.runs.stream(null, "scripted", { input: {}, streamMode: ["messages-tuple", "custom", "updates", "values"] })) {
    raw += JSON.stringify(part);
    if (part.event === "custom") add("custom", (part.data as { delta?: string }).delta);
    if (part.event !== "messages") continue;
    const [m] = part.data as unknown as [Record<string, any>];
    if (typeof m.content === "string") add(`${m.id}:content`, m.content);
    else for (const b of m.content as Array<Record<string, string>>) add(`${m.id}:block${b.index}`, b.thinking ?? b.text);
    for (const t of (m.tool_call_chunks ?? []) as Array<Record<string, string>>) add(`${m.id}:tool${t.index}`, t.args);
    for (const t of (m.tool_calls ?? []) as Array<{ args: Record<string, string> }>) add(`${m.id}:tool_calls`, t.args.token);
    for (const t of (m.invalid_tool_calls ?? []) as Array<Record<string, string>>) add(`${m.id}:invalid`, t.args);
  }
  for (const text of [raw, ...byText.values()]) expect(leaks(text.replace(/\\"/g, '"'))).toEqual([]);
  // the rest of the text still arrives, and the masks say what was there
  expect(byText.get("m1:content")).toBe("Your card is [REDACTED:credit_card] thanks");
  expect(byText.get("custom")).toBe("mail [REDACTED:email] please");
  expect(byText.get("m2:block0")).toBe("key [REDACTED:aws_access_key] done");
  expect(byText.get("m3:tool0")).toBe('{"token": "[REDACTED:jwt]"}');
});

test("property, end to end: for generated LangGraph streams, no logical text the SDK client reassembles holds a secret", async () => {
  let next = 0;
  await fc.assert(
    fc.asyncProperty(randomStream, async ({ ls, bytes, byteCuts }) => {
      const id = next++;
      scriptedStreams.set(id, { bytes, byteCuts });
      const events: Array<{ event: string; data: unknown }> = [];
      for await (const part of client.runs.stream(null, "scripted", { input: { case: id }, streamMode: ["messages-tuple", "custom", "updates"] })) {
        events.push({ event: part.event, data: part.data });
      }
      scriptedStreams.delete(id);
      const raw = JSON.stringify(events);
      for (const t of ls) {
        expect(raw).not.toContain(t.secret);
        for (const text of reassemble(t, events)) expect(text).not.toContain(t.secret);
      }
    }),
    { numRuns: Number(process.env.FC_RUNS_E2E ?? 25), seed: 12 },
  );
}, 120_000);

test("query strings are masked before they reach the upstream, and recorded masked", async () => {
  seenUrls.length = 0;
  const res = await fetch(`${e2e.stack.proxyUrl()}/store/items?namespace=a&key=${encodeURIComponent(EMAIL)}&api_token=tok-123`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  const sent = seenUrls.find((u) => u.startsWith("/store/items"))!;
  expect(sent).toBeDefined();
  expect(decodeURIComponent(sent)).not.toContain(EMAIL);
  expect(decodeURIComponent(sent)).not.toContain("tok-123");
  expect(decodeURIComponent(sent)).toContain("namespace=a");

  const store = e2e.store!;
  const deadline = Date.now() + 15_000;
  let paths: string[] = [];
  while (Date.now() < deadline) {
    paths = (await store.prisma.session.findMany({ where: { subject: "shape-user", operation: "store:get" } })).map((r) => r.path);
    if (paths.length > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(paths).toHaveLength(1);
  // (the namespace may carry the gateway's owner prefix)
  expect(decodeURIComponent(paths[0]!)).toMatch(/^\/store\/items\?namespace=[^&]*a&key=\[REDACTED:email\]&api_token=\[REDACTED:token\]$/);
  expect(paths[0]).not.toContain("tok-123");
});
