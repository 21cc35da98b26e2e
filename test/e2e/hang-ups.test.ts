import { createServer, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import type { Store } from "../../control-plane/store/client.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";
import { idleKeepAliveConnections } from "../helpers/keep-alive.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

/**
 * Every exchange ends in exactly one record whatever the client does (issue #13,
 * INVARIANTS 5): clients hang up at every point of a stream — mid-body, before the
 * response headers, right after them, after the first event, in the middle of a chunk,
 * after stalling until the gateway's writes back up — and each of their exchanges is
 * counted in the database (one distinct subject per request). The upstream is a hostile,
 * fast SSE server that records which request ids reached it. Each identity may hold one
 * run at a time (limits are per identity × policy), so a run slot leaked by a stuck exchange
 * shows as a 429 when that same identity runs again afterwards. Then SIGTERM with idle
 * keep-alive connections and a stream in flight: the proxy exits by itself within its
 * grace period and the cut stream is recorded.
 *
 * test/e2e/faults.test.ts covers mid-body, before-headers, after-headers and first-event
 * hang-ups against the real LangGraph server; this file adds the cuts inside a chunk, a
 * stalled reader whose writes back up, complete streams, and run slots. Every combination
 * of hang-up point × on_disconnect (cancel/continue) × stream size (small/large) occurs
 * several times; more clients than that only add time.
 */
let e2e: E2eStack;
let stack: Stack;
let store: Store;
let upstream: Server;
const reachedUpstream: string[] = [];
const holds = new Set<NodeJS.Timeout>();
/** Each identity may hold one run: a slot its hang-up leaked refuses its next run. */
const CONCURRENT_RUNS = 1;

/** An SSE "LangGraph" that streams `events` events of `size` bytes, or holds the stream `hold_ms`. */
function startSseUpstream(): Promise<string> {
  upstream = createServer((req, res) => {
    reachedUpstream.push(String(req.headers["x-request-id"]));
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const input = ((JSON.parse(Buffer.concat(chunks).toString() || "{}") as { input?: Record<string, number> }).input ?? {});
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`event: metadata\ndata: {"run_id":"1ef0c7d6-0000-7000-8000-000000000000"}\n\n`);
      const pad = "x".repeat(input["size"] ?? 1000);
      let left = input["events"] ?? 10;
      const pump = (): void => {
        while (left > 0 && !res.destroyed) {
          left--;
          if (!res.write(`event: values\ndata: {"n":${left},"pad":"${pad}"}\n\n`)) return void res.once("drain", pump);
        }
        if (input["hold_ms"]) holds.add(setTimeout(() => res.end(), input["hold_ms"]));
        else res.end();
      };
      setImmediate(pump);
    });
  });
  return new Promise((resolve) => upstream.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`)));
}

function policy(upstreamUrl: string) {
  return (input: DemoPolicyInput) =>
    stringify({
      identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
      roles: [{ name: "runner", bindings: [{ issuer: input.issuerUrl, group: "runners" }] }],
      connections: [{ name: "sse", baseUrl: upstreamUrl, credentialEnv: input.credentialEnv }],
      policies: [{ name: "runners", role: "runner", connection: "sse", graphs: ["*"], operations: ["runs:*"], maskRequests: false, limits: { concurrentRuns: CONCURRENT_RUNS } }],
    });
}

beforeAll(async () => {
  const url = await startSseUpstream();
  e2e = await startE2eStack({ provider: "postgresql", store: true, policy: policy(url), env: { AGENTGATE_CONNECTION: "sse", AGENTGATE_SHUTDOWN_GRACE_SECONDS: "1" } });
  stack = e2e.stack;
  store = e2e.store!;
}, 120_000);
afterAll(async () => {
  await e2e?.stop();
  for (const t of holds) clearTimeout(t);
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});

const KINDS = ["mid-body", "before-headers", "after-headers", "first-event", "mid-chunk", "stalled", "complete"] as const;
type Kind = (typeof KINDS)[number];

const threadOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const THREAD_PATH = /^\/threads\/00000000-0000-4000-8000-(\d{12})\//;

/** One raw HTTP exchange that hangs up at `kind`; resolves with whether response headers arrived. */
async function hangUp(kind: Kind, token: string, n: number): Promise<boolean> {
  // A stalled client must outlast the socket buffers (1.6 MB, so the gateway's writes back up);
  // every fifth other stream is large enough to be cut mid-body (320 KB), the rest are small.
  const events = kind === "stalled" ? 200 : n % 5 === 0 ? 40 : 5 + (n % 20);
  const size = kind === "stalled" || n % 5 === 0 ? 8_000 : 50 + (n % 900);
  const body = JSON.stringify({ assistant_id: "agent", input: { events, size }, stream_mode: "values", ...(n % 2 ? { on_disconnect: "cancel" } : {}) });
  const port = Number(new URL(stack.proxyUrl()).port);
  // A body cut short never reaches authentication (no subject in the record): its path says who it was.
  const path = kind === "mid-body" ? `/threads/${threadOf(n)}/runs/stream` : "/runs/stream";
  const head = `POST ${path} HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
  const socket: Socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const write = (s: string) => new Promise<void>((resolve) => socket.write(s, () => resolve()));
  return new Promise<boolean>((resolve) => {
    let received = "";
    let headers = false;
    // Somewhere inside the stream's events (each is at least `size` bytes), never past its end.
    const cutAt = 1 + ((n * 7919) % Math.min(3000, events * size));
    const finish = () => {
      socket.destroy();
      resolve(headers);
    };
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(headers));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const at = received.indexOf("\r\n\r\n");
      if (at < 0) return;
      headers = true;
      const payload = received.slice(at + 4);
      if (kind === "after-headers") return finish();
      if (kind === "first-event" && payload.includes("\n\n")) return finish();
      if (kind === "mid-chunk" && payload.length >= cutAt) return finish();
      // (Any stream read to its end: the connection would otherwise idle until the keep-alive timeout.)
      if (received.endsWith("\r\n0\r\n\r\n")) return finish();
      if (kind === "stalled") {
        socket.pause(); // stop reading: the gateway's writes back up, then we leave
        setTimeout(finish, 150);
      }
    });
    if (kind === "mid-body") void write(head + body.slice(0, body.length >> 1)).then(finish);
    else void write(head + body).then(() => (kind === "before-headers" ? setImmediate(finish) : undefined));
  });
}

type Row = { subject: string | null; path: string; requestId: string; errorCode: string | null };

async function recordsOf(prefix: string, atLeast: number): Promise<Map<string, Row[]>> {
  const deadline = Date.now() + 90_000;
  let rows: Row[];
  for (;;) {
    rows = await store.prisma.session.findMany({
      where: { OR: [{ subject: { startsWith: prefix } }, { path: { startsWith: "/threads/00000000-0000-4000-8000-" } }] },
      select: { subject: true, path: true, requestId: true, errorCode: true },
    });
    if (rows.length >= atLeast || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const bySubject = new Map<string, Row[]>();
  for (const r of rows) {
    const anonymous = THREAD_PATH.exec(r.path);
    const key = r.subject || (anonymous ? `hu-${Number(anonymous[1])}` : "");
    bySubject.set(key, [...(bySubject.get(key) ?? []), r]);
  }
  return bySubject;
}

test("clients hanging up at every point of a stream: every exchange recorded exactly once, every upstream run recorded, no slot leaked", async () => {
  // 7 hang-up points × 2 on_disconnect modes (n % 2) × 5 stream shapes (n % 5, one of them large): 70 combinations, each 3 times.
  const total = KINDS.length * 2 * 5 * 3;
  const tokens = await Promise.all(Array.from({ length: total }, (_, n) => stack.issuer.mint({ sub: `hu-${n}`, groups: ["runners"] })));
  const sawHeaders: boolean[] = [];
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 24 }, async () => {
      while (next < total) {
        const n = next++;
        sawHeaders[n] = await hangUp(KINDS[n % KINDS.length]!, tokens[n]!, n);
      }
    }),
  );
  // Every exchange the proxy started — all of them: each request was fully written before
  // the hang-up, or its headers were (mid-body) — has exactly one record.
  const stormMs = Date.now() - started;
  const records = await recordsOf("hu-", total);
  // Measured, not asserted (no wall-clock assertions): how long the storm and the record catch-up took.
  console.log(`hang-ups: ${total} exchanges in ${stormMs} ms; all records in the database ${Date.now() - started - stormMs} ms later`);
  const missing: string[] = [];
  const duplicated: string[] = [];
  for (let n = 0; n < total; n++) {
    const got = records.get(`hu-${n}`) ?? [];
    if (got.length === 0) missing.push(`${n}:${KINDS[n % KINDS.length]}${sawHeaders[n] ? "+headers" : ""}`);
    if (got.length > 1) duplicated.push(`hu-${n}`);
  }
  expect(duplicated).toEqual([]);
  expect(missing).toEqual([]);
  const recordedIds = new Set([...records.values()].flat().map((r) => r.requestId));
  expect(reachedUpstream.filter((id) => id.length > 0 && !recordedIds.has(id))).toEqual([]);
  expect([...records.values()].flat().some((r) => r.errorCode === "CLIENT_CLOSED")).toBe(true);

  // No exchange kept its run slot: every identity of the storm may start a run again (its one
  // slot is free once its abandoned run ended upstream; a leaked slot stays taken: 429).
  const refused: string[] = [];
  let nextId = 0;
  await Promise.all(
    Array.from({ length: 24 }, async () => {
      while (nextId < total) {
        const n = nextId++;
        let status = 0;
        for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
          if (attempt > 0) await new Promise((r) => setTimeout(r, 250));
          const res = await fetch(`${stack.proxyUrl()}/runs/stream`, {
            method: "POST",
            headers: { authorization: `Bearer ${tokens[n]}`, "content-type": "application/json" },
            body: JSON.stringify({ assistant_id: "agent", input: { events: 1 } }),
          });
          await res.arrayBuffer();
          status = res.status;
        }
        if (status !== 200) refused.push(`hu-${n}:${KINDS[n % KINDS.length]}:${status}`);
      }
    }),
  );
  expect(refused).toEqual([]);
}, 240_000);

test("SIGTERM with idle keep-alive connections and a stream in flight: the proxy exits on its own after its grace period, and the cut stream is recorded", async () => {
  const token = await stack.issuer.mint({ sub: "sigterm-stream", groups: ["runners"] });
  // Idle keep-alive connections, each after one complete exchange.
  const idle = await idleKeepAliveConnections(stack.proxyUrl(), 8);
  // A stream the upstream holds open for a minute: its headers have arrived, its body is being read.
  const res = await fetch(`${stack.proxyUrl()}/runs/stream`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: "agent", input: { events: 1, hold_ms: 60_000 } }),
  });
  expect(res.status).toBe(200);
  const requestId = res.headers.get("x-request-id");
  const reading = res.arrayBuffer().catch(() => undefined);
  const proxy = stack.proxies[0]!;
  await proxy.stop("SIGTERM", 60_000); // the harness would SIGKILL only after 60 s
  expect(await proxy.exited).toBe(0); // exited by itself, not killed
  await Promise.all(idle.map((c) => c.closed)); // every idle keep-alive connection was closed
  await reading; // cut by the proxy
  await stack.restartProxy(0);
  const rows = await recordsOf("sigterm-stream", 1);
  const got = rows.get("sigterm-stream") ?? [];
  expect(got).toHaveLength(1);
  expect(got[0]!.requestId).toBe(requestId);
  expect(got[0]!.errorCode ?? "").not.toBe("");
}, 120_000);
