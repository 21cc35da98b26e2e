import { createUuidV7, isUuidV7, uuidV7Time, uuidv7 } from "./uuidv7.js";

/** A generator on a frozen, hand-driven clock with real randomness. */
function frozen(start: number) {
  const clock = { ms: start };
  const gen = createUuidV7({ now: () => clock.ms, randomFill: (b) => crypto.getRandomValues(b) });
  return { clock, gen };
}

describe("uuidv7", () => {
  test("has the RFC 9562 layout: version 7, variant 0b10, lower-case hyphenated", () => {
    for (let i = 0; i < 1000; i++) {
      const id = uuidv7();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(id[14]).toBe("7");
      expect("89ab").toContain(id[19]);
      expect(isUuidV7(id)).toBe(true);
    }
  });

  test("embeds the millisecond timestamp in its first 48 bits", () => {
    const { gen } = frozen(0x0123_4567_89ab);
    const id = gen();
    expect(id.startsWith("01234567-89ab-7")).toBe(true);
    expect(uuidV7Time(id)).toBe(0x0123_4567_89ab);
    const before = Date.now();
    const now = uuidV7Time(uuidv7());
    expect(now).toBeGreaterThanOrEqual(before - 1);
    expect(now).toBeLessThanOrEqual(Date.now() + 1);
  });

  test("100k ids are unique and strictly increasing", () => {
    const ids = Array.from({ length: 100_000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      if (!(ids[i - 1]! < ids[i]!)) throw new Error(`not increasing at ${i}: ${ids[i - 1]} !< ${ids[i]}`);
    }
  });

  test("stays monotonic when the counter overflows within one frozen millisecond", () => {
    const { gen } = frozen(1_700_000_000_000);
    const ids = Array.from({ length: 10_000 }, () => gen()); // > 4096: must borrow future ms
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(uuidV7Time(ids.at(-1)!)).toBeGreaterThan(1_700_000_000_000);
    expect(ids.every(isUuidV7)).toBe(true);
  });

  test("stays monotonic when the clock steps back", () => {
    const { clock, gen } = frozen(1_700_000_000_500);
    const a = gen();
    clock.ms -= 400;
    const b = gen();
    expect(a < b).toBe(true);
    expect(uuidV7Time(b)).toBe(1_700_000_000_500);
  });

  test("isUuidV7 rejects other versions, variants and shapes", () => {
    for (const bad of [
      "01890a5d-ac96-4b3a-9bcd-0123456789ab", // v4
      "01890a5d-ac96-7b3a-cbcd-0123456789ab", // variant 0b110
      "01890A5D-AC96-7B3A-9BCD-0123456789AB", // upper case
      "01890a5dac967b3a9bcd0123456789ab",
      "",
    ]) {
      expect(isUuidV7(bad)).toBe(false);
    }
  });
});
