/**
 * Bounded masking end to end (#12 item 6), through a real proxy and the real SDK against a
 * scripted upstream: bodies of 16 KiB and more are masked by the proxy's masking pool
 * (worker threads), so a hostile body costs the event loop a copy, not the detector work;
 * a body the pool cannot mask within AGENTGATE_MASK_TIMEOUT_MS is refused (502), never
 * relayed; a large request body reaches the upstream masked.
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
    return void res.end(`[{"assistant_id":"00000000-0000-4000-8000-000000000001","graph_id":"scripted","metadata":${LARGE_DOC}}]`);
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
    env: { AGENTGATE_MASK_TIMEOUT_MS: "3000" },
    policy: (input) =>
      stringify({
        identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
        roles: [{ name: "dev", bindings: [{ issuer: input.issuerUrl, group: "devs" }] }],
        connections: [{ name: "scripted", baseUrl: upstreamUrl, credentialEnv: input.credentialEnv }],
        policies: [{ name: "dev", role: "dev", connection: "scripted", graphs: ["scripted"], operations: ["assistants:*"] }],
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

test("a large hostile response is masked by the pool: no planted secret reaches the client", async () => {
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
