import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";

describe("backoffCeiling", () => {
  test.each([
    [0, 200],
    [1, 400],
    [2, 800],
    [3, 1600],
    [4, 3200],
    [5, 6400],
    [6, 10_000], // 12800 capped
    [7, 10_000],
    [50, 10_000],
    [5000, 10_000], // no Infinity/NaN for absurd attempts
    [-3, 200], // negative treated as the first attempt
    [2.7, 800], // fractional attempts are floored
  ])("attempt %d → %d ms", (attempt, ceiling) => {
    expect(backoffCeiling(attempt, DEFAULT_BACKOFF)).toBe(ceiling);
  });

  test("custom policy", () => {
    expect([0, 1, 2, 3, 4].map((a) => backoffCeiling(a, { baseMs: 10, capMs: 50 }))).toEqual([10, 20, 40, 50, 50]);
  });
});

describe("backoffDelay (full jitter)", () => {
  test.each([
    [0, 0, 0],
    [0, 0.5, 100],
    [0, 0.999999, 199],
    [3, 0.25, 400],
    [6, 0.5, 5000],
    [6, 0.999999, 9999],
    [100, 0.1, 1000],
  ])("attempt %d with random %d → %d ms", (attempt, r, delay) => {
    expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => r)).toBe(delay);
  });

  test("always within [0, ceiling) with the real random source", () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(backoffCeiling(attempt));
        expect(Number.isInteger(d)).toBe(true);
      }
    }
  });
});
