/** IdleMap: memory stays proportional to live keys without timers, and the cap holds. */
import { describe, expect, it } from "@jest/globals";
import { IdleMap } from "./idle-map.js";

describe("IdleMap", () => {
  it("sweeps idle entries as new ones arrive, so size tracks the live set", () => {
    // Entry i is live until time i + 20: about 20 live at any moment.
    const m = new IdleMap<number>(1_000_000, (idleAt, now) => now >= idleAt);
    let maxSize = 0;
    for (let i = 0; i < 10_000; i++) {
      m.set(`k${i}`, i + 20, i);
      maxSize = Math.max(maxSize, m.size);
    }
    expect(maxSize).toBeLessThanOrEqual(30);
  });

  it("keeps live entries when sweeping (rotates them instead)", () => {
    const m = new IdleMap<boolean>(100, (live) => !live);
    m.set("live", true, 0);
    for (let i = 0; i < 50; i++) m.set(`idle${i}`, false, 0);
    expect(m.get("live")).toBe(true);
  });

  it("evicts the oldest (least recently set or swept) entry beyond the cap and reports live evictions", () => {
    let evicted = 0;
    const m = new IdleMap<boolean>(3, (live) => !live, () => evicted++);
    for (const k of ["a", "b", "c"]) m.set(k, true, 0);
    m.set("a", true, 0); // "a" is now the most recent
    m.set("d", true, 0);
    expect(m.size).toBe(3);
    expect(m.get("a")).toBe(true);
    expect(evicted).toBe(1);
  });
});
