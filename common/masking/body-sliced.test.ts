import fc from "fast-check";
import { maskBodySliced, type Slicer } from "./body-sliced.js";
import { maskBody } from "./body.js";
import { compileProfile, defaultProfile, DEFAULT_RULES, type CompiledProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { encoded, LABELS } from "./testing/bodies.js";

const KEY = new Uint8Array(32).fill(7);
// pseudonyms make the comparison order-sensitive: same session key, same tokens, same counts
const PSEUDONYM = compileProfile(DEFAULT_RULES.map((r) => ({ ...r, style: "pseudonym" as const })));
const CUSTOM = compileProfile([
  { kind: "regex", match: "ACME-[0-9]{4}", style: "pseudonym" },
  { kind: "key", match: "*token", style: "redact" },
  { kind: "detector", match: "email", style: "partial" },
  { kind: "path", match: "$.a[*].b", style: "redact" },
]);

/** Pauses before every unit of work: the most interleaving a real slicer could produce. */
function everyStep(): Slicer & { pauses: number } {
  const s = {
    pauses: 0,
    due: () => true,
    pause: () => {
      s.pauses++;
      return new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
  return s;
}

async function both(body: Uint8Array | string, contentType: string | undefined, profile: CompiledProfile) {
  const syncSession = new MaskSession(KEY);
  const slicedSession = new MaskSession(KEY);
  const expected = maskBody(body, contentType, profile, syncSession, { onInvalidJson: "text" });
  const actual = await maskBodySliced(body, contentType, profile, slicedSession, { onInvalidJson: "text" }, everyStep());
  return { expected, actual, expectedCounts: syncSession.counts, actualCounts: slicedSession.counts };
}

describe("maskBodySliced", () => {
  it.each([
    ["default", defaultProfile()],
    ["pseudonym", PSEUDONYM],
    ["custom", CUSTOM],
  ])("returns exactly what maskBody returns, pausing before every detector call (%s profile)", async (_name, profile) => {
    await fc.assert(
      fc.asyncProperty(encoded, LABELS, async ([body, charsetLabel], label) => {
        const r = await both(body, charsetLabel ?? label, profile);
        expect(r.actual).toEqual(r.expected);
        expect(r.actualCounts).toEqual(r.expectedCounts);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });

  it("masks large adversarial bodies identically: secrets in many strings, one huge string, keys, an event stream", async () => {
    const secrets = ["jane.doe@example.com", "4111 1111 1111 1111", "+1 415 555 0132", "AKIAQ7XKP2MVN9TZR4WL", "DE89 3704 0044 0532 0130 00", "password=Hunter22!x"];
    const many = JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ [`k${i % 7 === 0 ? "_token" : ""}${i}`]: `n ${secrets[i % secrets.length]} ${"1-".repeat(i % 13)}`, a: [{ b: i }] })));
    const huge = JSON.stringify({ text: secrets.map((s, i) => `${"4111 ".repeat(5000 + i)}${s} ${"password=".repeat(300)}`).join(" ") });
    const stream = Array.from({ length: 2000 }, (_, i) =>
      `event: messages\ndata: ${JSON.stringify([{ content: secrets[i % secrets.length]!.slice((i * 3) % 5, ((i * 3) % 5) + 4), id: `m${i % 3}`, type: "AIMessageChunk" }, {}])}\n\n`,
    ).join("");
    for (const [body, type] of [
      [many, "application/json"],
      [huge, "application/json"],
      [huge, "text/plain"],
      [stream, "text/event-stream"],
      [`user=ann&password=x&note=${encodeURIComponent(secrets.join(" "))}`, "application/x-www-form-urlencoded"],
    ] as const) {
      for (const profile of [defaultProfile(), PSEUDONYM, CUSTOM]) {
        const r = await both(Buffer.from(body), type, profile);
        expect(r.actual).toEqual(r.expected);
        expect(r.actualCounts).toEqual(r.expectedCounts);
      }
    }
  });

  it("lets other work run between slices, and two bodies masked at once each get their own result", async () => {
    const a = JSON.stringify({ m: Array.from({ length: 200 }, (_, i) => `mail u${i}@example.com card 4111 1111 1111 1111`) });
    const b = `call +1 415 555 0132 ${"key=value ".repeat(500)} AKIAQ7XKP2MVN9TZR4WL`;
    const slicerA = everyStep();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const [ra, rb] = await Promise.all([
      maskBodySliced(a, "application/json", PSEUDONYM, new MaskSession(KEY), {}, slicerA),
      maskBodySliced(b, "text/plain", PSEUDONYM, new MaskSession(KEY), {}, everyStep()),
    ]);
    clearInterval(timer);
    expect(ra).toEqual(maskBody(a, "application/json", PSEUDONYM, new MaskSession(KEY)));
    expect(rb).toEqual(maskBody(b, "text/plain", PSEUDONYM, new MaskSession(KEY)));
    expect(slicerA.pauses).toBeGreaterThan(200); // one pause per detector call per distinct string
    expect(ticks).toBeGreaterThan(0); // timers ran while the bodies were being masked
  });
});
