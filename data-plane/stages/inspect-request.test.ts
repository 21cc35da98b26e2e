import RE2 from "re2";
import type { CompiledDenyRule } from "../policy/compiled-policy.js";
import { DENYLIST_SLICE_CHARS, firstDenied } from "./inspect-request.js";

const rule = (id: string, pattern: string, path = ""): CompiledDenyRule => ({ id, pattern: new RE2(pattern, "u"), path, message: "" });

/** Runs `work` while counting how many other event-loop turns ran before it finished. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const value = await work();
  done = true;
  return { value, turns };
}

describe("request denylist", () => {
  test("a maximal body with many rules is scanned in slices: other work runs between them (issue #11)", async () => {
    // 1 MiB of text in 8 strings, 8 rules that do not match: 64 pattern×string units.
    const body = { input: { messages: Array.from({ length: 8 }, (_, i) => ({ content: `${"lorem ipsum ".repeat(10_923)}${i}` })) } };
    const rules = Array.from({ length: 8 }, (_, i) => rule(`r${i}`, `forbidden-${i}[0-9]+`));
    const { value, turns } = await turnsDuring(() => firstDenied(body, rules));
    expect(value).toBeUndefined();
    // 8 rules × 1 MiB scanned, a yield every DENYLIST_SLICE_CHARS: the loop ran in between (the old synchronous scan: 0).
    expect(turns).toBeGreaterThanOrEqual(Math.floor((8 * 8 * 131_076) / DENYLIST_SLICE_CHARS) - 8);
  });

  test("small bodies are scanned in one turn, and the first matching rule wins, by path", async () => {
    const body = { input: { text: "please run rm -rf /" }, metadata: { note: "DROP TABLE users" } };
    const { value, turns } = await turnsDuring(() => firstDenied(body, [rule("a", "nothing"), rule("sql", "DROP TABLE", "metadata"), rule("rm", "rm -rf")]));
    expect(value?.id).toBe("sql");
    expect(turns).toBe(0);
    expect((await firstDenied(body, [rule("sql", "DROP TABLE", "input")]))?.id).toBeUndefined();
    // Keys are inspected too.
    expect((await firstDenied({ "rm -rf": 1 }, [rule("rm", "rm -rf")]))?.id).toBe("rm");
  });

  test("a match after the first slice is still found; a body with too many strings to inspect counts as a hit", async () => {
    const big = { a: "x".repeat(DENYLIST_SLICE_CHARS * 3), b: "secret-plan" };
    expect((await firstDenied(big, [rule("none", "zzz"), rule("plan", "secret-plan")]))?.id).toBe("plan");
    const many = { items: Array.from({ length: 100_001 }, () => "a") };
    expect((await firstDenied(many, [rule("never", "zzz")]))?.id).toBe("never");
  });
});
