import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { waitForProxyReady } from "../../demo/stack.js";

/**
 * AGENTGATE_READ_COMMIT=group: a plain read is answered once its record is written to the
 * OS, and fdatasynced within the window. The attacker here is a crash of the proxy process
 * (kill -9) right after the answers: every read a client saw answered must still reach the
 * control plane, exactly once. (A crash of the host inside the window is the documented
 * exception, and cannot be simulated here.) The window is 1 s so the kill lands inside it.
 */
let e2e: E2eStack;

beforeAll(async () => {
  e2e = await startE2eStack({ provider: "postgresql", store: true, env: { AGENTGATE_READ_COMMIT: "group", AGENTGATE_READ_COMMIT_WINDOW_MS: "1000" } });
}, 120_000);

afterAll(() => e2e?.stop());

test("proxy kill -9 inside the group-commit window: every answered read is recorded exactly once", async () => {
  const { stack, store } = e2e;
  const token = await stack.issuer.mint({ sub: "group-reader", groups: ["developers"] });
  const read = async (): Promise<string> => {
    const res = await fetch(`${stack.proxyUrl()}/threads/search`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    return res.headers.get("x-request-id")!;
  };
  const answered = await Promise.all(Array.from({ length: 40 }, read));
  await stack.restartProxy(0, "SIGKILL"); // within the 1 s window: these records were written, not fsynced
  await waitForProxyReady(stack.proxyUrl(0), 20_000);

  const counts = async () => {
    const rows = await store!.prisma.session.findMany({ where: { requestId: { in: answered } }, select: { requestId: true } });
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(r.requestId, (seen.get(r.requestId) ?? 0) + 1);
    return seen;
  };
  let seen = await counts();
  for (let i = 0; i < 300 && seen.size < answered.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await counts();
  }
  expect(answered.filter((id) => !seen.has(id))).toEqual([]);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
}, 120_000);
