/**
 * Worker mode (AGENTGATE_PROXY_WORKERS): one proxy process per core behind one port. Proves,
 * against the real stack and the control plane's database (read directly):
 *  - requests are served by more than one worker;
 *  - every completed exchange is stored exactly once, under the worker that served it, and
 *    each worker's chain verifies — also across a kill -9 of one worker, which the primary
 *    starts again on the same folder (its spool and chain carry on);
 *  - SIGTERM stops every worker gracefully (the primary exits 0).
 * Attacker: a crash (INVARIANTS 5).
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { verifyStoredChains } from "../../control-plane/sessions/verify.js";
import { anchorKey } from "../../control-plane/sessions/anchors.js";
import { SecretBox } from "../../control-plane/secrets.js";

let e2e: E2eStack;

beforeAll(async () => {
  e2e = await startE2eStack({
    provider: "sqlite",
    store: true,
    env: {
      AGENTGATE_PROXY_WORKERS: "2",
      AGENTGATE_REDIS_URL: process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379",
      AGENTGATE_REDIS_KEY_PREFIX: `test-workers-${randomBytes(4).toString("hex")}:`,
    },
  });
}, 120_000);

afterAll(() => e2e?.stop());

/** Worker processes of the proxy's primary (its children running the proxy), from /proc. */
function workerPids(): number[] {
  const primary = String(e2e.stack.proxies[0]!.pid);
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        // a child running the proxy's entry (not e.g. tsx's esbuild service)
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === primary && readFileSync(`/proc/${d}/cmdline`, "utf8").includes("data-plane/main");
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** `total` searches, each on a new connection (so the primary spreads them), `concurrency` at a time; ids of the completed ones. */
/** Why calls of the last `load` did not complete (status and body, or the error). */
let failures: string[] = [];

async function load(subject: string, total: number, concurrency: number): Promise<string[]> {
  failures = [];
  const token = await e2e.stack.issuer.mint({ sub: subject, groups: ["developers"] });
  const completed: string[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        try {
          const res = await fetch(`${e2e.stack.proxyUrl()}/assistants/search`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json", connection: "close" },
            body: "{}",
            // liveness bound only: a connection the primary handed to the worker being killed is never answered
            signal: AbortSignal.timeout(20_000),
          });
          const text = await res.text();
          if (res.status === 200) completed.push(res.headers.get("x-request-id")!);
          else failures.push(`${res.status} ${text.slice(0, 200)}`);
        } catch (err) {
          // cut by a worker's crash: not completed, so not counted
          failures.push(`error ${(err as Error).message}`);
        }
      }
    }),
  );
  return completed;
}

/** The stored sessions of `subject`, once every completed exchange arrived (records are reported asynchronously). */
async function storedOf(subject: string, completed: readonly string[]) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await e2e.store!.prisma.session.findMany({ where: { subject }, select: { requestId: true, proxyId: true, seq: true } });
    const stored = new Set(rows.map((r) => r.requestId));
    if (completed.every((id) => stored.has(id)) || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function expectExactlyOnce(rows: Array<{ requestId: string; proxyId: string }>, completed: readonly string[]): void {
  const perRequest = new Map<string, number>();
  for (const r of rows) perRequest.set(r.requestId, (perRequest.get(r.requestId) ?? 0) + 1);
  expect([...perRequest.values()].filter((n) => n !== 1)).toEqual([]); // nothing stored twice
  expect(completed.filter((id) => !perRequest.has(id))).toEqual([]); // nothing completed is missing
}

async function expectChainsVerify(): Promise<void> {
  const key = anchorKey(SecretBox.fromKeyFile(join(e2e.dataDir, "secret.key")));
  const reports = (await verifyStoredChains(e2e.store!.prisma, key)).filter((r) => r.proxyId.startsWith("proxy-1.w"));
  expect(reports.map((r) => r.proxyId).sort()).toEqual(["proxy-1.w0", "proxy-1.w1"]);
  for (const r of reports) expect(r).toMatchObject({ ok: true, problems: [] });
}

/**
 * The stack waited for one /readyz; in worker mode that is one worker. Each worker enforces
 * its own snapshot, so wait until 10 new connections in a row (spread round-robin by the
 * primary) find their worker ready.
 */
async function everyWorkerEnforces(): Promise<void> {
  for (let streak = 0, tries = 0; streak < 10 && tries < 300; tries++) {
    const res = await fetch(`${e2e.stack.proxyUrl()}/readyz`, { headers: { connection: "close" } });
    await res.arrayBuffer();
    streak = res.status === 200 ? streak + 1 : 0;
    if (streak === 0) await new Promise((r) => setTimeout(r, 100));
  }
}

test("requests are served by more than one worker; each worker's records reach the control plane exactly once", async () => {
  expect(workerPids()).toHaveLength(2);
  await everyWorkerEnforces();
  const completed = await load("workers-a", 40, 8);
  expect(failures).toEqual([]);
  expect(completed.length).toBe(40);
  const rows = await storedOf("workers-a", completed);
  expectExactlyOnce(rows, completed);
  expect(rows.length).toBe(completed.length);
  const byWorker = new Set(rows.map((r) => r.proxyId));
  expect([...byWorker].sort()).toEqual(["proxy-1.w0", "proxy-1.w1"]);
  await expectChainsVerify();
}, 120_000);

test("a worker killed with kill -9 is started again on its folder: completed exchanges stored exactly once, chains intact", async () => {
  const [victim] = workerPids();
  const during = load("workers-b", 60, 6);
  await new Promise((r) => setTimeout(r, 150));
  process.kill(victim!, "SIGKILL");
  const completedDuring = await during;
  // the primary starts a new worker on the victim's folder
  const deadline = Date.now() + 30_000;
  while ((workerPids().length < 2 || workerPids().includes(victim!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(workerPids().length).toBe(2);
  const completedAfter = await load("workers-b", 20, 4);
  const completed = [...completedDuring, ...completedAfter];
  const rows = await storedOf("workers-b", completed);
  expectExactlyOnce(rows, completed);
  await expectChainsVerify();
}, 180_000);

test("SIGTERM stops every worker gracefully: the primary exits 0 and no worker is left", async () => {
  const workers = workerPids();
  const primary = e2e.stack.proxies[0]!;
  await primary.stop("SIGTERM", 60_000);
  expect(await primary.exited).toBe(0);
  for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
}, 90_000);
