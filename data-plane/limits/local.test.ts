/** Local backend with an injected clock: refill arithmetic, day boundaries, memory bounds, and a property test. */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { LocalLimiter } from "./local.js";
import { createStats } from "./stats.js";
import { DAY_MS } from "./utc-day.js";

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

function local(maxKeys = 1000): LocalLimiter {
  return new LocalLimiter({ maxKeys, slotRetryAfterMs: 1000 }, createStats("local"));
}

describe("LocalLimiter token bucket (injected time)", () => {
  it("refills rate/60 tokens per second, capped at burst, with exact Retry-After", async () => {
    const l = local();
    // 60/min, burst 2: one token per second.
    expect((await l.takeToken("k", 60, 2, T0)).ok).toBe(true);
    expect((await l.takeToken("k", 60, 2, T0)).ok).toBe(true);
    expect(await l.takeToken("k", 60, 2, T0)).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(await l.takeToken("k", 60, 2, T0 + 400)).toEqual({ ok: false, retryAfterMs: 600 });
    expect((await l.takeToken("k", 60, 2, T0 + 1000)).ok).toBe(true);
    // Ten idle minutes refill no more than the burst.
    const later = T0 + 600_000;
    expect((await l.takeToken("k", 60, 2, later)).ok).toBe(true);
    expect((await l.takeToken("k", 60, 2, later)).ok).toBe(true);
    expect((await l.takeToken("k", 60, 2, later)).ok).toBe(false);
  });

  it("refills fractional tokens (rate 1/min → Retry-After 60 s)", async () => {
    const l = local();
    expect((await l.takeToken("k", 1, 1, T0)).ok).toBe(true);
    expect(await l.takeToken("k", 1, 1, T0 + 15_000)).toEqual({ ok: false, retryAfterMs: 45_000 });
  });

  it("refills nothing when the clock steps back", async () => {
    const l = local();
    expect((await l.takeToken("k", 60, 1, T0)).ok).toBe(true);
    expect((await l.takeToken("k", 60, 1, T0 - 5000)).ok).toBe(false);
    // Back at T0 + 1 s exactly one token has accrued since T0, not six.
    expect((await l.takeToken("k", 60, 1, T0 + 1000)).ok).toBe(true);
    expect((await l.takeToken("k", 60, 1, T0 + 1000)).ok).toBe(false);
  });

  it("property: never grants more than burst + rate × elapsed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0.5, max: 100_000, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 8 })), { maxLength: 60 }),
        async (ratePerMinute, burst, steps) => {
          const l = local();
          let now = T0;
          let granted = 0;
          for (const [dt, attempts] of steps) {
            now += dt;
            for (let i = 0; i < attempts; i++) if ((await l.takeToken("p", ratePerMinute, burst, now)).ok) granted++;
            const allowance = burst + (ratePerMinute / 60_000) * (now - T0);
            expect(granted).toBeLessThanOrEqual(allowance + 1e-9);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: a denial's Retry-After is exactly when the next token is there", async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0.5, max: 100_000, noNaN: true }), fc.integer({ min: 1, max: 20 }), async (rate, burst) => {
        const l = local();
        for (let i = 0; i < burst; i++) await l.takeToken("r", rate, burst, T0);
        const denied = await l.takeToken("r", rate, burst, T0);
        if (denied.ok) throw new Error("expected a denial");
        expect((await l.takeToken("r", rate, burst, T0 + denied.retryAfterMs - 1)).ok).toBe(false);
        expect((await l.takeToken("r", rate, burst, T0 + denied.retryAfterMs)).ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("LocalLimiter cost budget (injected time)", () => {
  it("resets at UTC midnight, with Retry-After exactly until then", async () => {
    const l = local();
    const beforeMidnight = Date.UTC(2026, 10, 25, 23, 59, 30);
    const afterMidnight = Date.UTC(2026, 10, 26, 0, 0, 1);
    expect((await l.reserveCost("c", 10, 10, beforeMidnight)).ok).toBe(true);
    expect(await l.reserveCost("c", 1, 10, beforeMidnight)).toMatchObject({ ok: false, retryAfterMs: 30_000, spent: 10 });
    expect(await l.spentToday("c", afterMidnight)).toBe(0);
    expect((await l.reserveCost("c", 10, 10, afterMidnight)).ok).toBe(true);
  });

  it("settles a run that crosses midnight into the day it was reserved in", async () => {
    const l = local();
    const day1 = Date.UTC(2026, 10, 25, 23, 0);
    const day2 = day1 + 2 * 3_600_000;
    const run = await l.reserveCost("c", 5, 10, day1);
    if (!run.ok) throw new Error("denied");
    expect((await l.reserveCost("c", 3, 10, day2)).ok).toBe(true);
    await run.settle(8);
    expect(await l.spentToday("c", day1)).toBe(0); // day1 has been replaced by day2 in memory
    expect(await l.spentToday("c", day2)).toBe(3); // today's spending is untouched by yesterday's settlement
  });
});

describe("LocalLimiter memory", () => {
  it("drops full buckets and past days as new keys arrive, without counting them as evictions", async () => {
    const stats = createStats("local");
    const l = new LocalLimiter({ maxKeys: 50, slotRetryAfterMs: 1000 }, stats);
    for (let i = 0; i < 1000; i++) {
      // Each bucket is full again 1 s after its take; keys arrive 50 ms apart, so ~20 are live at once.
      await l.takeToken(`k${i}`, 60, 1, T0 + i * 50);
      await l.reserveCost(`c${i}`, 1, 10, T0 + i * DAY_MS);
    }
    expect(stats.evictions).toBe(0);
  });

  it("caps the number of keys and counts evictions of live state", async () => {
    const stats = createStats("local");
    const l = new LocalLimiter({ maxKeys: 10, slotRetryAfterMs: 1000 }, stats);
    for (let i = 0; i < 30; i++) await l.takeToken(`k${i}`, 1, 5, T0);
    expect(stats.evictions).toBe(20);
    // The most recent keys are kept.
    for (let i = 0; i < 4; i++) await l.takeToken("k29", 1, 5, T0);
    expect((await l.takeToken("k29", 1, 5, T0)).ok).toBe(false);
  });

  it("forgets a key's slots once all are released", async () => {
    const l = local();
    const s = await l.acquireSlot("s", 1);
    if (!s.ok) throw new Error("denied");
    await s.release();
    expect((await l.acquireSlot("s", 1)).ok).toBe(true);
  });
});
