/**
 * The contract every backend must meet, run as one table against local and Redis.
 * Real time only here (Redis uses its server clock); injected-time cases are in local.test.ts.
 */
import { afterAll, describe, expect, it } from "@jest/globals";
import { backends, deleteKeys, rawRedis, sleep, uniquePrefix } from "./test-helpers.js";
import { msUntilNextUtcDay } from "./utc-day.js";
import type { InstrumentedLimiter } from "./limiter.js";

const prefix = uniquePrefix();
const redis = rawRedis();
const open: InstrumentedLimiter[] = [];

afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

let n = 0;
/** A key no other case uses. */
const key = (what: string): string => `${what}-${++n}`;

describe.each(backends(prefix))("limiter contract: $name", (backend) => {
  const limiter = backend.make();
  open.push(limiter);

  describe("takeToken", () => {
    it("allows a burst, then denies with the time until the next token", async () => {
      const k = key("burst");
      for (let i = 0; i < 3; i++) expect(await limiter.takeToken(k, 60, 3)).toEqual({ ok: true });
      const denied = await limiter.takeToken(k, 60, 3);
      expect(denied.ok).toBe(false);
      // 60/min = one token per 1000 ms, minus the few ms the three takes took.
      if (!denied.ok) {
        expect(denied.retryAfterMs).toBeGreaterThan(800);
        expect(denied.retryAfterMs).toBeLessThanOrEqual(1000);
      }
    });

    it("refills with time, and Retry-After is enough to get a token", async () => {
      const k = key("refill");
      // 120/min = one token per 500 ms (wide enough that a busy machine does not refill in between).
      expect((await limiter.takeToken(k, 120, 1)).ok).toBe(true);
      const denied = await limiter.takeToken(k, 120, 1);
      expect(denied.ok).toBe(false);
      if (denied.ok) return;
      expect(denied.retryAfterMs).toBeLessThanOrEqual(500);
      await sleep(denied.retryAfterMs + 2);
      expect((await limiter.takeToken(k, 120, 1)).ok).toBe(true);
    });

    it("keeps keys apart", async () => {
      const a = key("a");
      const b = key("b");
      expect((await limiter.takeToken(a, 1, 1)).ok).toBe(true);
      expect((await limiter.takeToken(a, 1, 1)).ok).toBe(false);
      expect((await limiter.takeToken(b, 1, 1)).ok).toBe(true);
    });

    it("grants exactly `burst` of many concurrent takes", async () => {
      const k = key("concurrent");
      const results = await Promise.all(Array.from({ length: 40 }, () => limiter.takeToken(k, 1, 7)));
      expect(results.filter((r) => r.ok)).toHaveLength(7);
    });

    it.each([
      [0, 1],
      [-5, 1],
      [Number.NaN, 1],
      [60, 0],
      [60, Number.POSITIVE_INFINITY],
    ])("rejects rate %p / burst %p as a RangeError", async (rate, burst) => {
      await expect(limiter.takeToken(key("bad"), rate, burst)).rejects.toThrow(RangeError);
    });
  });

  describe("acquireSlot", () => {
    it("enforces max, and release frees exactly one slot even if called twice", async () => {
      const k = key("slots");
      const first = await limiter.acquireSlot(k, 2);
      const second = await limiter.acquireSlot(k, 2);
      expect(first.ok && second.ok).toBe(true);
      const third = await limiter.acquireSlot(k, 2);
      expect(third.ok).toBe(false);
      if (!third.ok) {
        expect(third.retryAfterMs).toBeGreaterThan(0);
        expect(third.retryAfterMs).toBeLessThanOrEqual(1000);
      }
      if (!first.ok) throw new Error("unreachable");
      await first.release();
      await first.release();
      const fourth = await limiter.acquireSlot(k, 2);
      expect(fourth.ok).toBe(true);
      expect((await limiter.acquireSlot(k, 2)).ok).toBe(false);
      for (const s of [second, fourth]) if (s.ok) await s.release();
    });

    it("grants exactly `max` of many concurrent acquisitions", async () => {
      const k = key("slots-concurrent");
      const results = await Promise.all(Array.from({ length: 20 }, () => limiter.acquireSlot(k, 3)));
      const granted = results.filter((r) => r.ok);
      expect(granted).toHaveLength(3);
      for (const r of granted) if (r.ok) await r.release();
      expect((await limiter.acquireSlot(k, 3)).ok).toBe(true);
    });

    it.each([0, 1.5, -1])("rejects max %p as a RangeError", async (max) => {
      await expect(limiter.acquireSlot(key("bad"), max)).rejects.toThrow(RangeError);
    });
  });

  describe("reserveCost", () => {
    it("reserves what is left (at least the minimum) when the amount does not fit, and settles against that", async () => {
      const k = key("upto");
      const first = await limiter.reserveCost(k, 4, 10);
      expect(first).toMatchObject({ ok: true, reserved: 4 });
      const rest = await limiter.reserveCost(k, 10, 10, undefined, 1); // "everything left"
      expect(rest).toMatchObject({ ok: true, reserved: 6 });
      expect(await limiter.spentToday(k)).toBeCloseTo(10);
      expect((await limiter.reserveCost(k, 10, 10, undefined, 0)).ok).toBe(false); // nothing left
      if (!rest.ok) return;
      await rest.settle(2);
      expect(await limiter.spentToday(k)).toBeCloseTo(6);
      expect((await limiter.reserveCost(k, 5, 10, undefined, 5)).ok).toBe(false); // 4 left < minimum 5
      expect(await limiter.reserveCost(k, 5, 10, undefined, 3)).toMatchObject({ ok: true, reserved: 4 });
    });

    it("reserves, settles to the actual amount, and denies past the budget until the next UTC day", async () => {
      const k = key("cost");
      const r1 = await limiter.reserveCost(k, 4, 10);
      if (!r1.ok) throw new Error("first reservation denied");
      expect(await limiter.spentToday(k)).toBeCloseTo(4);
      await r1.settle(1);
      await r1.settle(100); // only the first settlement counts
      expect(await limiter.spentToday(k)).toBeCloseTo(1);
      expect((await limiter.reserveCost(k, 9, 10)).ok).toBe(true);
      const before = Date.now();
      const denied = await limiter.reserveCost(k, 0.5, 10);
      const after = Date.now();
      expect(denied.ok).toBe(false);
      if (denied.ok) return;
      expect(denied.spent).toBeCloseTo(10);
      // Until the next UTC midnight as of the call: bracketed by the clock before and after it
      // (no tolerance that a stall on a loaded machine could exceed; 5 ms for rounding).
      expect(denied.retryAfterMs).toBeLessThanOrEqual(msUntilNextUtcDay(before) + 5);
      expect(denied.retryAfterMs).toBeGreaterThanOrEqual(msUntilNextUtcDay(after) - 5);
    });

    it("charges an actual above the estimate, and an exhausted budget admits not even zero", async () => {
      const k = key("cost-over");
      const r = await limiter.reserveCost(k, 2, 5);
      if (!r.ok) throw new Error("denied");
      await r.settle(5);
      expect(await limiter.spentToday(k)).toBeCloseTo(5);
      expect((await limiter.reserveCost(k, 0, 5)).ok).toBe(false);
    });

    it("fits float sums exactly at the budget (0.1 + 0.2 <= 0.3)", async () => {
      const k = key("cost-float");
      expect((await limiter.reserveCost(k, 0.1, 0.3)).ok).toBe(true);
      expect((await limiter.reserveCost(k, 0.2, 0.3)).ok).toBe(true);
      expect((await limiter.reserveCost(k, 0.01, 0.3)).ok).toBe(false);
    });

    it("never goes below zero when the actual is under the estimate", async () => {
      const k = key("cost-zero");
      const r = await limiter.reserveCost(k, 3, 10);
      if (!r.ok) throw new Error("denied");
      await r.settle(0);
      expect(await limiter.spentToday(k)).toBe(0);
    });

    it("rejects negative or non-finite amounts", async () => {
      await expect(limiter.reserveCost(key("bad"), -1, 10)).rejects.toThrow(RangeError);
      await expect(limiter.reserveCost(key("bad"), 1, Number.NaN)).rejects.toThrow(RangeError);
      const r = await limiter.reserveCost(key("bad-settle"), 1, 10);
      if (!r.ok) throw new Error("denied");
      await expect(r.settle(Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
    });
  });

  it("made every decision on its own backend", () => {
    expect(limiter.stats()).toMatchObject({ backend: backend.name, degraded: false, redisErrors: 0, degradedDecisions: 0 });
  });
});
