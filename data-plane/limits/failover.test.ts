/**
 * What happens when Redis is away: a closed port (refused at once), a Redis that accepts and then
 * never answers (timeouts), each `onRedisError` mode, the breaker, and recovery.
 */
import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { FAILURES_TO_TRIP, FailoverLimiter } from "./failover.js";
import { createLimiter } from "./limiter.js";
import { LocalLimiter } from "./local.js";
import { createStats } from "./stats.js";
import { sleep } from "./test-helpers.js";
import type { InstrumentedLimiter, Limiter, LimiterOptions } from "./limiter.js";
import type { LimiterLog } from "./stats.js";

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A "Redis" that completes ioredis' handshake (INFO ready check, CLIENT …) and then never answers
 * anything else: a hung server, as seen through a live TCP connection.
 */
async function hungRedis(): Promise<{ url: string; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buf = "";
    socket.on("data", (chunk) => {
      buf += chunk.toString("latin1");
      // Parse complete RESP arrays of bulk strings: *N\r\n($len\r\n<data>\r\n){N}
      for (;;) {
        const parsed = parseCommand(buf);
        if (!parsed) break;
        buf = buf.slice(parsed.length);
        const name = parsed.args[0]?.toUpperCase();
        if (name === "INFO") {
          const info = "redis_version:7.0.0\r\nloading:0\r\n";
          socket.write(`$${info.length}\r\n${info}\r\n`);
        } else if (name === "CLIENT" || name === "SELECT") socket.write("+OK\r\n");
        // Everything else: silence.
      }
    });
  });
  server.on("close", () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `redis://127.0.0.1:${port}`, server };
}

function parseCommand(buf: string): { args: string[]; length: number } | undefined {
  const head = /^\*(\d+)\r\n/.exec(buf);
  if (!head) return undefined;
  let at = head[0].length;
  const args: string[] = [];
  for (let i = 0; i < Number(head[1]); i++) {
    const len = /^\$(\d+)\r\n/.exec(buf.slice(at));
    if (!len) return undefined;
    at += len[0].length;
    const n = Number(len[1]);
    if (buf.length < at + n + 2) return undefined;
    args.push(buf.slice(at, at + n));
    at += n + 2;
  }
  return { args, length: at };
}

/** A log that remembers what it was told. */
function recordingLog(): { log: LimiterLog; lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  return { log: (level, msg, fields) => void lines.push({ level, msg, ...(fields ? { fields } : {}) }), lines };
}

const open: InstrumentedLimiter[] = [];
function make(opts: LimiterOptions): InstrumentedLimiter {
  const l = createLimiter(opts);
  open.push(l);
  return l;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

describe("Redis on a closed port", () => {
  it("local-fallback: decides locally, fast, enforcing each limit; logs the outage once and counts it", async () => {
    const { log, lines } = recordingLog();
    const l = make({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, onRedisError: "local-fallback", log });
    expect((await l.takeToken("k", 60, 3)).ok).toBe(true);
    expect((await l.takeToken("k", 60, 3)).ok).toBe(true);
    expect((await l.takeToken("k", 60, 3)).ok).toBe(true);
    const denied = await l.takeToken("k", 60, 3);
    expect(denied.ok).toBe(false);
    if (!denied.ok) expect(denied.retryAfterMs).toBeGreaterThan(900);

    const slot = await l.acquireSlot("s", 1);
    expect(slot.ok).toBe(true);
    expect((await l.acquireSlot("s", 1)).ok).toBe(false);
    const cost = await l.reserveCost("c", 3, 5);
    expect(cost.ok).toBe(true);
    expect(await l.spentToday("c")).toBe(3);

    const stats = l.stats();
    expect(stats).toMatchObject({ backend: "redis", degraded: true });
    expect(stats.redisErrors).toBeGreaterThanOrEqual(FAILURES_TO_TRIP);
    expect(stats.degradedDecisions).toBe(7); // 4 takes, 2 slots, 1 reservation
    expect(lines.filter((x) => x.level === "warn")).toHaveLength(1);
    expect(lines[0]?.fields?.["mode"]).toBe("local-fallback");
    // No URL (which could hold a password) in what is logged.
    expect(JSON.stringify(lines)).not.toContain("redis://");
  });

  it("local-fallback with a fleet of N: each proxy enforces a 1/N share (slots rounded down, 0 denies)", async () => {
    const l = make({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, onRedisError: "local-fallback", fleetSize: 2, log: () => {} });
    const granted = async (f: () => Promise<{ ok: boolean }>, tries: number) => {
      let n = 0;
      for (let i = 0; i < tries; i++) if ((await f()).ok) n++;
      return n;
    };
    expect(await granted(() => l.takeToken("k", 60, 4), 10)).toBe(2);
    expect(await granted(() => l.acquireSlot("s3", 3), 10)).toBe(1);
    expect(await l.acquireSlot("s1", 1)).toMatchObject({ ok: false, unavailable: true });
    expect(await granted(() => l.reserveCost("c", 1, 10), 10)).toBe(5);
  });

  it("fail-closed is the default: denies every decision while Redis is away", async () => {
    const l = make({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, log: () => {} });
    expect(await l.takeToken("k", 60, 3)).toMatchObject({ ok: false, unavailable: true });
    expect(await l.acquireSlot("s", 3)).toMatchObject({ ok: false, unavailable: true });
    expect(l.stats()).toMatchObject({ failureMode: "fail-closed" });
  });

  it("fail-open: allows everything; release and settle are harmless no-ops", async () => {
    const l = make({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, onRedisError: "fail-open", log: () => {} });
    for (let i = 0; i < 5; i++) expect((await l.takeToken("k", 1, 1)).ok).toBe(true);
    const slot = await l.acquireSlot("s", 1);
    const again = await l.acquireSlot("s", 1);
    expect(slot.ok && again.ok).toBe(true);
    if (slot.ok) await slot.release();
    const cost = await l.reserveCost("c", 100, 1);
    expect(cost.ok).toBe(true);
    if (cost.ok) await cost.settle(5);
  });

  it("fail-closed: denies everything as unavailable; spentToday reports the error", async () => {
    const l = make({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, onRedisError: "fail-closed", log: () => {} });
    expect(await l.takeToken("k", 60, 10)).toEqual({ ok: false, retryAfterMs: 1000, unavailable: true });
    expect(await l.acquireSlot("s", 5)).toEqual({ ok: false, retryAfterMs: 1000, unavailable: true });
    const cost = await l.reserveCost("c", 1, 10);
    expect(cost).toMatchObject({ ok: false, retryAfterMs: 1000, unavailable: true });
    if (!cost.ok) expect(cost.spent).toBeNaN();
    await expect(l.spentToday("c")).rejects.toThrow();
  });

  it("still rejects bad arguments as RangeError, not as an outage", async () => {
    const l = make({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, log: () => {} });
    await expect(l.takeToken("k", 0, 1)).rejects.toThrow(RangeError);
    expect(l.stats().redisErrors).toBe(0);
  });
});

describe("Redis that accepts and never answers", () => {
  let hung: { url: string; server: Server } | undefined;
  afterAll(async () => {
    await new Promise<void>((resolve) => (hung ? hung.server.close(() => resolve()) : resolve()));
  });

  it("costs one command timeout per decision until the breaker opens, then none", async () => {
    hung = await hungRedis();
    const { log, lines } = recordingLog();
    const l = make({ redisUrl: hung.url, commandTimeoutMs: 50, onRedisError: "local-fallback", log });
    for (let i = 0; i < 10; i++) expect((await l.takeToken("k", 600, 20)).ok).toBe(true);
    // Only the first FAILURES_TO_TRIP decisions tried Redis (and timed out); the rest skipped it.
    expect(l.stats()).toMatchObject({ degraded: true, redisErrors: FAILURES_TO_TRIP, degradedDecisions: 10 });
    expect(lines).toHaveLength(1);
    expect((lines[0]?.fields?.["err"] as Error | undefined)?.message).toBe("Command timed out");
  });
});

describe("FailoverLimiter breaker and recovery", () => {
  /** A primary that fails while `down` and counts how often it is asked. */
  function flakyPrimary(): { primary: Limiter; state: { down: boolean; calls: number } } {
    const state = { down: true, calls: 0 };
    const ok = async (): Promise<{ ok: true }> => {
      state.calls++;
      if (state.down) throw new Error("boom");
      return { ok: true };
    };
    const primary: Limiter = {
      takeToken: ok,
      acquireSlot: async () => ({ ...(await ok()), release: async () => {} }),
      reserveCost: async () => ({ ...(await ok()), reserved: 0, settle: async () => {} }),
      spentToday: async () => (await ok(), 0),
      close: async () => {},
    };
    return { primary, state };
  }

  function failover(primary: Limiter, log: LimiterLog, cooldownMs: number): FailoverLimiter {
    const stats = createStats("redis");
    const local = new LocalLimiter({ maxKeys: 100, slotRetryAfterMs: 1000 }, stats);
    return new FailoverLimiter(primary, "local-fallback", local, log, stats, cooldownMs);
  }

  it("a lone failure is handled locally but does not trip the breaker or log", async () => {
    const { primary, state } = flakyPrimary();
    const { log, lines } = recordingLog();
    const l = failover(primary, log, 10_000);
    expect((await l.takeToken("k", 60, 1)).ok).toBe(true);
    state.down = false;
    await l.takeToken("k", 60, 1);
    expect(state.calls).toBe(2);
    expect(l.stats()).toMatchObject({ degraded: false, redisErrors: 1, degradedDecisions: 1 });
    expect(lines).toHaveLength(0);
  });

  it("skips the primary during the cooldown, probes after it, and logs the recovery", async () => {
    const { primary, state } = flakyPrimary();
    const { log, lines } = recordingLog();
    const l = failover(primary, log, 40);
    for (let i = 0; i < 10; i++) await l.takeToken("k", 60, 100);
    expect(state.calls).toBe(FAILURES_TO_TRIP);
    state.down = false;
    await sleep(50);
    await l.takeToken("k", 60, 100);
    expect(state.calls).toBe(FAILURES_TO_TRIP + 1);
    expect(l.stats().degraded).toBe(false);
    expect(lines.map((x) => x.level)).toEqual(["warn", "info"]);
  });
});
