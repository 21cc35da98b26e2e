/**
 * Redis backend as several proxies see it: two limiter instances on one Redis, leases that lapse
 * when their holder dies, cost keys named by the server's UTC day, and TTLs on every key.
 */
import { afterAll, describe, expect, it } from "@jest/globals";
import { LUA_CIVIL_DATE } from "./redis-scripts.js";
import { REDIS_URL, TEST_COMMAND_TIMEOUT_MS, deleteKeys, rawRedis, sleep, uniquePrefix } from "./test-helpers.js";
import { DAY_MS, msUntilNextUtcDay, utcDate, utcDay } from "./utc-day.js";
import { createLimiter } from "./limiter.js";
import type { InstrumentedLimiter } from "./limiter.js";

const prefix = uniquePrefix();
const redis = rawRedis();
const open: InstrumentedLimiter[] = [];

/** A new "proxy" on the shared Redis. */
function proxy(): InstrumentedLimiter {
  // Waits for the connection like a starting proxy does: on a loaded machine the first takes would otherwise be refused (fail-closed).
  const l = createLimiter({ redisUrl: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: TEST_COMMAND_TIMEOUT_MS, startupWaitMs: TEST_COMMAND_TIMEOUT_MS });
  open.push(l);
  return l;
}

/** The Redis server's clock, in ms. */
async function serverNow(): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe("two proxies on one Redis", () => {
  const [a, b] = [proxy(), proxy()];

  it.each([1, 7, 25])("grant exactly burst=%p of 2×60 concurrent takes", async (burst) => {
    const k = `shared-burst-${burst}`;
    const takes = Array.from({ length: 60 }, () => [a.takeToken(k, 1, burst), b.takeToken(k, 1, burst)]).flat();
    const results = await Promise.all(takes);
    expect(results.filter((r) => r.ok)).toHaveLength(burst);
  });

  it("enforce max concurrent slots across instances; a release on one frees a slot for the other", async () => {
    const k = "shared-slots";
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquireSlot(k, 3)));
    const granted = results.filter((r) => r.ok);
    expect(granted).toHaveLength(3);
    expect((await a.acquireSlot(k, 3)).ok).toBe(false);
    expect((await b.acquireSlot(k, 3)).ok).toBe(false);
    const first = granted[0];
    if (!first?.ok) throw new Error("unreachable");
    await first.release();
    expect((await b.acquireSlot(k, 3)).ok).toBe(true);
  });

  it("share one daily budget", async () => {
    const k = "shared-cost";
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).reserveCost(k, 1, 7)));
    expect(results.filter((r) => r.ok)).toHaveLength(7);
    expect(await a.spentToday(k)).toBe(7);
    expect(await b.spentToday(k)).toBe(7);
  });
});

describe("slot leases", () => {
  it("lapse when the holder stops refreshing (a crashed proxy), and Retry-After says when", async () => {
    const holder = proxy();
    const other = proxy();
    const k = "lease-crash";
    expect((await holder.acquireSlot(k, 1, 300)).ok).toBe(true);
    const denied = await other.acquireSlot(k, 1, 300);
    expect(denied.ok).toBe(false);
    if (!denied.ok) expect(denied.retryAfterMs).toBeLessThanOrEqual(300);
    await holder.close(); // stops refreshing without releasing, as a crash would
    await sleep(350);
    expect((await other.acquireSlot(k, 1, 300)).ok).toBe(true);
  });

  it("stay held while the holder lives, for many lease periods", async () => {
    const holder = proxy();
    const other = proxy();
    const k = "lease-kept";
    // Refreshed every 100 ms: survives event-loop stalls of up to ~200 ms on a busy machine.
    const slot = await holder.acquireSlot(k, 1, 300);
    await sleep(1000);
    expect((await other.acquireSlot(k, 1, 300)).ok).toBe(false);
    if (slot.ok) await slot.release();
    expect((await other.acquireSlot(k, 1, 300)).ok).toBe(true);
    expect(holder.stats().leasesLost).toBe(0);
  });

  it("are taken back on refresh if they vanished (e.g. lapsed during an outage) and a slot is free", async () => {
    const holder = proxy();
    const other = proxy();
    const k = "lease-readopt";
    const slot = await holder.acquireSlot(k, 1, 150);
    await redis.del(`${prefix}cc:${k}`);
    await sleep(120); // at least one refresh round (every 50 ms)
    expect(await redis.zcard(`${prefix}cc:${k}`)).toBe(1);
    expect((await other.acquireSlot(k, 1, 150)).ok).toBe(false);
    expect(holder.stats().leasesLost).toBe(0);
    if (slot.ok) await slot.release();
  });

  it("are counted as lost when they vanished and someone else took the slot", async () => {
    const holder = proxy();
    const other = proxy();
    const k = "lease-lost";
    await holder.acquireSlot(k, 1, 150);
    await redis.del(`${prefix}cc:${k}`);
    expect((await other.acquireSlot(k, 1, 150)).ok).toBe(true);
    await sleep(120);
    expect(holder.stats().leasesLost).toBe(1);
  });

  it("leave the key with a TTL no longer than the longest lease", async () => {
    const l = proxy();
    await l.acquireSlot("lease-ttl", 5, 5_000);
    await l.acquireSlot("lease-ttl", 5, 20_000);
    await l.acquireSlot("lease-ttl", 5, 1_000);
    const ttl = await redis.pttl(`${prefix}cc:lease-ttl`);
    expect(ttl).toBeGreaterThan(19_000);
    expect(ttl).toBeLessThanOrEqual(20_000);
  });
});

describe("keys", () => {
  it("give the token bucket a TTL of the time until it is full again", async () => {
    const l = proxy();
    // 60/min, burst 10, one token taken: full again in ~1 s (+1 s margin).
    await l.takeToken("bucket-ttl", 60, 10);
    const ttl = await redis.pttl(`${prefix}tb:bucket-ttl`);
    expect(ttl).toBeGreaterThan(1_500);
    expect(ttl).toBeLessThanOrEqual(2_000);
  });

  it("name cost by the server's UTC date and keep it one day past its midnight", async () => {
    const l = proxy();
    const before = await serverNow();
    await l.reserveCost("cost-key", 2, 10);
    const now = await serverNow();
    const dayKey = `${prefix}cost:cost-key:${utcDate(utcDay(now))}`;
    expect(await redis.get(dayKey)).toBe("2");
    const ttl = await redis.pttl(dayKey);
    const after = await serverNow();
    // Expires a day after the next UTC midnight: the remaining ttl is bracketed by the server
    // clock before the reservation and after the read (5 ms for rounding), not a tolerance.
    expect(ttl).toBeLessThanOrEqual(msUntilNextUtcDay(before) + DAY_MS + 5);
    expect(ttl).toBeGreaterThanOrEqual(msUntilNextUtcDay(after) + DAY_MS - 5);
  });

  it("start every UTC day from zero: yesterday's key does not count, a full today denies until midnight", async () => {
    const l = proxy();
    const now = await serverNow();
    const today = utcDay(now);
    await redis.set(`${prefix}cost:day-reset:${utcDate(today - 1)}`, "100", "PX", 60_000);
    expect(await l.spentToday("day-reset")).toBe(0);
    expect((await l.reserveCost("day-reset", 10, 10)).ok).toBe(true);

    await redis.set(`${prefix}cost:day-full:${utcDate(today)}`, "10", "PX", 60_000);
    const before = await serverNow();
    const denied = await l.reserveCost("day-full", 1, 10);
    const after = await serverNow();
    expect(denied).toMatchObject({ ok: false, spent: 10 });
    // Bracketed by the server clock before and after the call (5 ms for rounding), not a tolerance.
    if (!denied.ok) expect(denied.retryAfterMs).toBeLessThanOrEqual(msUntilNextUtcDay(before) + 5);
    if (!denied.ok) expect(denied.retryAfterMs).toBeGreaterThanOrEqual(msUntilNextUtcDay(after) - 5);
  });

  it("settle into the reservation's day key even if that day has since ended", async () => {
    const l = proxy();
    const r = await l.reserveCost("cost-late", 5, 10);
    if (!r.ok) throw new Error("denied");
    const dayKey = `${prefix}cost:cost-late:${utcDate(utcDay(await serverNow()))}`;
    // Simulate midnight passing: today's spending moves to another key; this one is "yesterday".
    await redis.rename(dayKey, `${dayKey}-old`);
    await redis.set(dayKey, "5", "KEEPTTL");
    await r.settle(1);
    expect(await redis.get(dayKey)).toBe("1");
  });
});

describe("Lua civil date", () => {
  it("matches JavaScript's UTC date from 1970 to 2400", async () => {
    const days = [0, 59, 60, 365, 10_956, 11_016, 11_017, utcDay(Date.now())];
    for (let d = 0; d < 157_000; d += 997) days.push(d);
    const lua = `${LUA_CIVIL_DATE}\nlocal out = {}\nfor i, d in ipairs(ARGV) do out[i] = civil(tonumber(d)) end\nreturn out`;
    const got = (await redis.eval(lua, 0, ...days.map(String))) as string[];
    expect(got).toEqual(days.map(utcDate));
  });
});
