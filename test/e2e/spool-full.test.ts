import type { Stack } from "../../demo/stack.js";
import type { Store } from "../../control-plane/store/client.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

/**
 * A full session spool refuses runs up front (issue #13, INVARIANTS 5): with the control
 * plane gone nothing is acked, the spool fills, and from then on every request is answered
 * 503 SPOOL_FULL before it is forwarded: the upstream sees nothing. Every request that did
 * reach the upstream, including those racing at the edge, ends up recorded once the
 * control plane is back. PostgreSQL, real LangGraph server, a counting hop in between.
 */
let e2e: E2eStack;
let stack: Stack;
let store: Store;

beforeAll(async () => {
  e2e = await startE2eStack({ provider: "postgresql", store: true, countingHop: true, env: { AGENTGATE_SPOOL_MAX_BYTES: String(1 << 20) } });
  stack = e2e.stack;
  store = e2e.store!;
}, 120_000);
afterAll(() => e2e?.stop());

type Answer = { status: number; code?: string; requestId: string | null };

async function call(token: string, path: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${stack.proxyUrl()}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const code = res.status === 503 ? (JSON.parse(text) as { error: { code: string } }).error.code : undefined;
  return { status: res.status, code, requestId: res.headers.get("x-request-id") };
}

const forwardedIds = () => stack.hop!.requests.map((r) => String(r.headers["x-request-id"]));

test("a full spool answers 503 SPOOL_FULL before forwarding; /readyz is not ready; every forwarded request is recorded", async () => {
  await stack.stopControlPlane("SIGKILL");
  const token = await stack.issuer.mint({ sub: "spool-filler", groups: ["developers"] });
  const run = { assistant_id: "echo", input: { text: "z".repeat(8_000) } };

  // 16 concurrent runs at a time until the spool refuses: admissions race at the edge.
  const answers: Answer[] = [];
  let ready = await fetch(`${stack.proxyUrl()}/readyz`);
  for (let round = 0; round < 200 && ready.status === 200; round++) {
    answers.push(...(await Promise.all(Array.from({ length: 16 }, () => call(token, "/runs/wait", run)))));
    ready = await fetch(`${stack.proxyUrl()}/readyz`);
  }
  expect(answers.some((a) => a.code === "SPOOL_FULL")).toBe(true);
  expect(answers.filter((a) => a.status !== 200 && a.code !== "SPOOL_FULL")).toEqual([]);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ spool: { accepting: false } });
  const metrics = await (await fetch(`${stack.proxyUrl()}/metrics`)).text();
  expect(metrics).toMatch(/agentgate_proxy_spool_free_bytes \d+/);
  expect(metrics).toMatch(/agentgate_proxy_spool_reserved_bytes 0/);

  // Now every kind of request is refused and none reaches the upstream.
  const before = stack.hop!.requests.length;
  const refused = await Promise.all([
    ...Array.from({ length: 8 }, () => call(token, "/runs/wait", run)),
    ...Array.from({ length: 8 }, () => call(token, "/runs/stream", { ...run, stream_mode: "values" })),
    call(token, "/threads", {}),
    call(token, "/assistants/search", {}),
  ]);
  for (const a of refused) expect(a).toMatchObject({ status: 503, code: "SPOOL_FULL" });
  expect(stack.hop!.requests.length).toBe(before);

  // The control plane returns: the backlog drains, and every request the upstream saw
  // (and every 200 the client saw) has exactly one record.
  await stack.startControlPlane();
  const forwarded = forwardedIds();
  const served = answers.filter((a) => a.status === 200).map((a) => a.requestId!);
  expect(new Set(served)).toEqual(new Set(forwarded));
  const deadline = Date.now() + 60_000;
  let rows: Array<{ requestId: string }> = [];
  while (Date.now() < deadline) {
    rows = await store.prisma.session.findMany({ where: { subject: "spool-filler" }, select: { requestId: true } });
    if (rows.length >= forwarded.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const recorded = rows.map((r) => r.requestId);
  expect(forwarded.filter((id) => !recorded.includes(id))).toEqual([]);
  expect(new Set(recorded).size).toBe(recorded.length);
  // With the backlog acked the proxy is ready again.
  let readyStatus = 0;
  for (let i = 0; i < 100 && readyStatus !== 200; i++) {
    readyStatus = (await fetch(`${stack.proxyUrl()}/readyz`)).status;
    if (readyStatus !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  expect(readyStatus).toBe(200);
}, 180_000);
