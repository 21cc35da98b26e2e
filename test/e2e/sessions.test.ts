import { Client } from "@langchain/langgraph-sdk";
import type { Stack } from "../../demo/stack.js";
import type { Store } from "../../control-plane/store/client.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { runCli } from "../helpers/cli.js";
import { join } from "node:path";
import { verifyStoredChains } from "../../control-plane/sessions/verify.js";
import { anchorKey } from "../../control-plane/sessions/anchors.js";
import { SecretBox } from "../../control-plane/secrets.js";


/**
 * Session recording end to end on PostgreSQL: every exchange leaves exactly one record,
 * nothing is lost when a proxy dies, tampering is detected. (The control plane killed
 * with kill -9 under load through two proxies is test/e2e/faults.test.ts's.)
 */
const ADMIN_TOKEN = "bootstrap-admin-token-for-tests-0123456789";
const cli = (...args: string[]) => runCli(stack, ADMIN_TOKEN, ...args);
let e2e: E2eStack;
let stack: Stack;
let store: Store;

beforeAll(async () => {
  e2e = await startE2eStack({ provider: "postgresql", store: true, proxies: 2, env: { AGENTGATE_ADMIN_BOOTSTRAP_TOKEN: ADMIN_TOKEN } });
  stack = e2e.stack;
  store = e2e.store!;
}, 120_000);

afterAll(() => e2e?.stop());

/** Waits until the stored sessions of `subject` reach `count` (records arrive asynchronously). */
async function sessionsOf(subject: string, count: number, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await store.prisma.session.findMany({ where: { subject }, orderBy: { startedAt: "asc" } });
    if (rows.length >= count || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Calls /assistants/search `total` times with `concurrency` workers over the proxies; returns request ids of completed calls. */
async function load(subject: string, total: number, concurrency: number, onProgress?: (done: number) => void): Promise<string[]> {
  const token = await stack.issuer.mint({ sub: subject, groups: ["developers"] });
  const completed: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < total) {
        next++;
        const proxy = stack.proxyUrl(worker % stack.proxies.length);
        try {
          const res = await fetch(`${proxy}/assistants/search`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
          await res.arrayBuffer();
          if (res.status === 200) completed.push(res.headers.get("x-request-id")!);
          else next--; // not served (e.g. proxy restarting): try again, it must not count
        } catch {
          next--;
          await new Promise((r) => setTimeout(r, 50));
        }
        onProgress?.(completed.length);
      }
    }),
  );
  return completed;
}

test("every call leaves exactly one record with the right fields, allowed or denied", async () => {
  const token = await stack.issuer.mint({ sub: "rec-user", email: "rec@example.com", groups: ["analysts"] });
  const client = new Client({ apiUrl: stack.proxyUrl(0), apiKey: null, defaultHeaders: { authorization: `Bearer ${token}` } });
  await client.runs.wait(null, "echo", { input: { text: "recorded" } });
  await client.runs.wait(null, "leaky", { input: {} }).catch(() => undefined); // analysts may not run leaky
  const events: string[] = [];
  for await (const chunk of client.runs.stream(null, "slow", { input: { steps: 2, delay_ms: 50 }, streamMode: "updates" })) events.push(chunk.event);

  const rows = await sessionsOf("rec-user", 3);
  expect(rows).toHaveLength(3);
  const [wait, denied, stream] = rows;
  expect(wait).toMatchObject({ decision: "allow", operation: "runs:wait", graph: "echo", status: 200, email: "rec@example.com", proxyId: "proxy-1", method: "POST", path: "/runs/wait" });
  expect(wait!.requestJson).toContain("recorded");
  expect(wait!.responseJson).toContain("recorded");
  expect(Number(wait!.bytesOut)).toBeGreaterThan(0);
  expect(denied).toMatchObject({ decision: "deny", operation: "runs:wait", graph: "leaky", status: 403, errorCode: "POLICY_DENIED" });
  expect(denied!.reasons).toEqual(["graph-not-allowed"]);
  expect(stream).toMatchObject({ decision: "allow", operation: "runs:stream", graph: "slow" });
  const recorded = stream!.events as Array<{ offsetMs: number; event: string }>;
  expect(recorded.map((e) => e.event)).toEqual(events);
  expect(recorded[recorded.length - 1]!.offsetMs).toBeGreaterThanOrEqual(recorded[0]!.offsetMs);
  for (const row of rows) expect(JSON.stringify(row, (_, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(token);
});

test("refusals before the pipeline (oversized body, malformed path) are recorded too", async () => {
  const big = await fetch(`${stack.proxyUrl(0)}/runs/wait`, { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(1_100_000) });
  const bad = await fetch(`${stack.proxyUrl(0)}/threads/%E0%A4%A/state`);
  expect([big.status, bad.status]).toEqual([413, 400]);
  const ids = [big.headers.get("x-request-id")!, bad.headers.get("x-request-id")!];
  const deadline = Date.now() + 15_000;
  let rows: Awaited<ReturnType<typeof store.prisma.session.findMany>> = [];
  while (rows.length < 2 && Date.now() < deadline) {
    rows = await store.prisma.session.findMany({ where: { requestId: { in: ids } }, orderBy: { startedAt: "asc" } });
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(rows.map((r) => [r.status, r.errorCode, r.decision])).toEqual([
    [413, "BODY_TOO_LARGE", "deny"],
    [400, "BAD_REQUEST", "deny"],
  ]);
});

test("proxy killed with SIGKILL mid-load: every call the client saw complete is recorded", async () => {
  let killed = false;
  let restarted: Promise<void> | undefined;
  const ids = await load("proxy-fault", 300, 8, (done) => {
    if (!killed && done >= 150) {
      killed = true;
      restarted = stack.restartProxy(1, "SIGKILL");
    }
  });
  await restarted;
  const rows = await sessionsOf("proxy-fault", ids.length, 60_000);
  const stored = new Set(rows.map((r) => r.requestId));
  expect(ids.filter((id) => !stored.has(id))).toEqual([]);
  expect(stored.size).toBe(rows.length); // no duplicates
}, 180_000);

test("GraphQL and the CLI: list, replay with timing, anomalies, verify, apply --dry-run", async () => {
  const list = await cli("sessions", "list", "--subject", "rec-user");
  expect(list).toMatchObject({ code: 0, stderr: "" });
  expect(list.stdout.trim().split("\n")).toHaveLength(3);
  const streamed = (await sessionsOf("rec-user", 3)).find((r) => r.operation === "runs:stream")!;
  const replay = await cli("sessions", "replay", streamed.id, "--speed", "0");
  expect(replay).toMatchObject({ code: 0, stderr: "" });
  expect(replay.stdout).toContain(`session ${streamed.id}`);
  expect(replay.stdout).toMatch(/\+\d+\.\d{3}s metadata/);
  expect(replay.stdout).toMatch(/\+\d+\.\d{3}s updates/);
  const verify = await cli("audit", "verify");
  expect(verify).toMatchObject({ code: 0, stderr: "" });
  expect(verify.stdout).toMatch(/ok +proxy-1/);
  // Every threshold is a flag: one response of ≥ 1 byte is a large-payload finding here.
  const anomalies = await cli("audit", "anomalies", "--hours", "1", "--large-bytes", "1", "--large-count", "1");
  expect(anomalies).toMatchObject({ code: 0, stderr: "" });
  expect(anomalies.stdout).toMatch(/large-payloads +\S+ +\d+ responses of ≥ 1 bytes/);
  expect(await cli("audit", "anomalies", "--large-count", "x")).toMatchObject({ code: 2 });
  const dryRun = await cli("apply", stack.policyFile, "--dry-run");
  expect(dryRun.code).toBe(0); // (progress goes to stderr)
  expect(dryRun.stderr).not.toMatch(/error|refused/i);
  expect(dryRun.stdout).toContain("dry run");
  const denied = await fetch(`${stack.controlPlane.ready["httpUrl"]}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ sessions { edges { node { id } } } }" }) });
  expect(JSON.stringify(await denied.json())).toContain("UNAUTHENTICATED");
});

test("the stored chains verify; an edited record and deleted first and newest records are reported", async () => {
  // The control plane's anchor key, from its secret in the stack's data folder.
  const key = anchorKey(SecretBox.fromKeyFile(join(e2e.dataDir, "secret.key")));
  const before = await verifyStoredChains(store.prisma, key);
  expect(before.length).toBe(2);
  for (const report of before) expect(report).toMatchObject({ ok: true, problems: [] });

  const victim = (await sessionsOf("rec-user", 1))[0]!;
  await store.prisma.session.update({ where: { id: victim.id }, data: { status: 201 } });
  const after = await verifyStoredChains(store.prisma, key, victim.proxyId);
  expect(after[0]!.ok).toBe(false);
  expect(after[0]!.problems).toContainEqual(expect.objectContaining({ id: victim.id, kind: "altered" }));
  const verify = await cli("audit", "verify", "--proxy", victim.proxyId);
  expect(verify.code).toBe(1);
  expect(verify.stdout).toContain(`altered (session ${victim.id})`);

  // Deleting the oldest and the newest record of the other proxy's chain, rows only.
  const other = before.find((r) => r.proxyId !== victim.proxyId)!.proxyId;
  const first = await store.prisma.session.findFirst({ where: { proxyId: other }, orderBy: { seq: "asc" } });
  const last = await store.prisma.session.findFirst({ where: { proxyId: other }, orderBy: { seq: "desc" } });
  await store.prisma.session.deleteMany({ where: { id: { in: [first!.id, last!.id] } } });
  const cut = await cli("audit", "verify", "--proxy", other);
  expect(cut.code).toBe(1);
  expect(cut.stdout).toContain("seq 1 missing-first");
  expect(cut.stdout).toContain(`seq ${last!.seq} missing-last`);
});
