import { Client, type StreamMode } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import { findPlantedSecrets, SPLIT_CARD } from "../../demo/langgraph/fixtures.js";
import type { Store } from "../../control-plane/store/client.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

/**
 * Masking end to end: the `leaky` graph returns planted secrets in JSON and streams a
 * message whose card number is split over three chunks; nothing planted may reach the
 * SDK client, in any response shape or stream mode, nor the session records.
 */
let e2e: E2eStack;
let stack: Stack;
let client: Client;
let store: Store;

beforeAll(async () => {
  e2e = await startE2eStack({ provider: "sqlite", store: true });
  stack = e2e.stack;
  store = e2e.store!;
  const token = await stack.issuer.mint({ sub: "masked-user", groups: ["developers"] });
  client = new Client({ apiUrl: stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
}, 120_000);

afterAll(() => e2e?.stop());

test("runs.wait: no planted secret survives, and masks are labelled", async () => {
  const output = await client.runs.wait(null, "leaky", { input: {} });
  expect(findPlantedSecrets(output)).toEqual([]);
  const text = JSON.stringify(output);
  // Detectors inside values, and a whole object under a secret-looking key ("credentials").
  for (const label of ["email", "credit_card", "iban", "phone", "aws_access_key", "credentials"]) expect(text).toContain(`[REDACTED:${label}`);
});

const MODES: StreamMode[] = ["values", "updates", "messages", "messages-tuple", "events", "debug"];

test.each(MODES)("runs.stream in %s mode: no planted secret survives", async (mode) => {
  const chunks: unknown[] = [];
  for await (const chunk of client.runs.stream(null, "leaky", { input: {}, streamMode: mode })) chunks.push(chunk);
  expect(chunks.length).toBeGreaterThan(1);
  expect(findPlantedSecrets(chunks)).toEqual([]);
});

test("a card number split over three streamed chunks is masked, and the message text still arrives", async () => {
  const pieces: string[] = [];
  for await (const chunk of client.runs.stream(null, "leaky", { input: {}, streamMode: "messages-tuple" })) {
    if (chunk.event !== "messages") continue;
    const [message] = chunk.data as [{ content?: unknown }, unknown];
    if (typeof message.content === "string") pieces.push(message.content);
  }
  const text = pieces.join("");
  expect(pieces.length).toBeGreaterThanOrEqual(3);
  expect(text).toContain("Here is what I found.");
  expect(text.replace(/[\s-]/g, "")).not.toContain(SPLIT_CARD.replace(/\s/g, ""));
  expect(text).toMatch(/\[REDACTED:credit_card/);
  expect(findPlantedSecrets(text)).toEqual([]);
});

test("thread state and history are masked", async () => {
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, "leaky", { input: {} });
  expect(findPlantedSecrets(await client.threads.getState(thread.thread_id))).toEqual([]);
  expect(findPlantedSecrets(await client.threads.getHistory(thread.thread_id))).toEqual([]);
});

test("non-secrets pass unchanged: a 16-digit number failing Luhn, plain text, numbers", async () => {
  const input = { text: "order 4111 1111 1111 1112 shipped", ref: "1234567812345678", count: 42, note: "version 1.2.3 on 2026-11-25" };
  expect(await client.runs.wait(null, "echo", { input })).toMatchObject(input);
});

test("inputs are masked before they reach the upstream, and records hold masked content only", async () => {
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, "echo", { input: { text: "mail me at carol.secret@example.net", password: "hunter2-very-secret" } });
  // Read the thread straight from the upstream (with its key): what LangGraph stored is masked.
  const upstream = new Client({ apiUrl: stack.upstream.url, apiKey: stack.upstream.apiKey });
  const stored = JSON.stringify(await upstream.threads.getState(thread.thread_id));
  expect(stored).not.toContain("carol.secret@example.net");
  expect(stored).not.toContain("hunter2-very-secret");

  const deadline = Date.now() + 15_000;
  let rows: Awaited<ReturnType<typeof store.prisma.session.findMany>> = [];
  while (Date.now() < deadline) {
    rows = await store.prisma.session.findMany({ where: { subject: "masked-user" } });
    if (rows.length >= 12) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(rows.length).toBeGreaterThanOrEqual(12);
  const all = JSON.stringify(rows, (_, v) => (typeof v === "bigint" ? String(v) : v));
  expect(findPlantedSecrets(all)).toEqual([]);
  expect(all).not.toContain("carol.secret@example.net");
  const leaky = rows.find((r) => r.graph === "leaky" && r.operation === "runs:wait")!;
  expect(Object.keys(leaky.maskCounts as object)).toEqual(expect.arrayContaining(["email", "credit_card"]));
});

describe("a masking profile attached to a policy", () => {
  let custom: E2eStack;
  beforeAll(async () => {
    custom = await startE2eStack({
      policy: (input) =>
        stringify({
          identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
          roles: [{ name: "support", bindings: [{ issuer: input.issuerUrl, group: "support" }] }],
          connections: [{ name: "demo", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
          maskingProfiles: [
            {
              name: "support-view",
              rules: [
                { kind: "key", match: "customer_name", style: "redact", label: "name" },
                { kind: "detector", match: "email", style: "pseudonym" },
                { kind: "regex", match: "ORD-[0-9]{6}", style: "redact", label: "order" },
                { kind: "detector", match: "credit_card", style: "partial" },
              ],
            },
          ],
          policies: [{ name: "support", role: "support", connection: "demo", graphs: ["echo"], operations: ["runs:*"], maskingProfile: "support-view", maskRequests: false }],
        }),
    });
  }, 120_000);
  afterAll(() => custom?.stop());

  test("its rules and styles apply: key, pseudonym (consistent within the exchange), custom regex, partial", async () => {
    const token = await custom.stack.issuer.mint({ sub: "agent", groups: ["support"] });
    const sdk = new Client({ apiUrl: custom.stack.proxyUrl(), apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
    const out = (await sdk.runs.wait(null, "echo", {
      input: { customer_name: "Alice Doe", from: "alice@example.com", cc: "alice@example.com", note: "re ORD-123456", card: "4111 1111 1111 1111" },
    })) as Record<string, string>;
    expect(out["customer_name"]).toBe("[REDACTED:name]");
    expect(out["from"]).toMatch(/^\[email:[0-9a-f]{8}\]$/);
    expect(out["cc"]).toBe(out["from"]);
    expect(out["note"]).toBe("re [REDACTED:order]");
    expect(out["card"]).toMatch(/1111$/);
    expect(out["card"]).not.toContain("4111 1111 1111");
  });
});
