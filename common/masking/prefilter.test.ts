import fc from "fast-check";
import { couldContainSensitive, narrowProfile } from "./prefilter.js";
import { classifyBody } from "./body.js";
import { maskJson } from "./json.js";
import { maskText } from "./text.js";
import { compileProfile, defaultProfile, type CompiledProfile } from "./profile.js";
import { maskBody } from "./body.js";
import { MaskSession } from "./session.js";
import { encoded, LABELS } from "./testing/bodies.js";

const PROFILES: Array<[string, CompiledProfile]> = [
  ["default", defaultProfile()],
  [
    "small",
    compileProfile([
      { kind: "key", match: "password", style: "redact" },
      { kind: "key", match: "*token", style: "redact" },
      { kind: "detector", match: "email", style: "pseudonym" },
      { kind: "detector", match: "credit_card", style: "partial" },
      { kind: "detector", match: "phone", style: "partial" },
    ]),
  ],
  [
    "custom regexes",
    compileProfile([
      { kind: "regex", match: "ACME-[0-9]{4}", style: "redact" },
      { kind: "regex", match: "/to+k[a-z]n/i", style: "redact" },
      { kind: "key", match: "x-*-id", style: "redact" },
      { kind: "detector", match: "generic_secret", style: "redact" },
    ]),
  ],
];

/** True when maskBody would change or refuse the body (what the pre-filter must never miss). */
function engineActs(body: Uint8Array | string, contentType: string | undefined, profile: CompiledProfile): boolean {
  const session = new MaskSession();
  const r = maskBody(body, contentType, profile, session, { onInvalidJson: "text" });
  return !r.ok || r.transcoded === true || Object.keys(session.counts).length > 0;
}

describe("couldContainSensitive (the pre-filter)", () => {
  it.each(PROFILES)("is sound under the %s profile: whenever the engine would change or refuse a body, it says 'could'", (_name, profile) => {
    let passed = 0;
    fc.assert(
      fc.property(encoded, LABELS, ([body, charsetLabel], label) => {
        const contentType = charsetLabel ?? label;
        const could = couldContainSensitive(body, profile, contentType);
        if (!could) {
          passed++;
          expect(engineActs(body, contentType, profile)).toBe(false);
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 1500) },
    );
    // not vacuous: a good share of the generated bodies were let through
    expect(passed).toBeGreaterThan(50);
  });

  it.each(PROFILES.slice(0, 2))("narrows the %s profile soundly: masking with the narrowed profile gives the same output", (_name, profile) => {
    const key = new Uint8Array(32).fill(3);
    let dropped = 0;
    fc.assert(
      fc.property(encoded, LABELS, ([body, charsetLabel], label) => {
        const kind = classifyBody(body, charsetLabel ?? label, { onInvalidJson: "text" });
        if (kind.kind !== "json" && kind.kind !== "text") return;
        const narrow = narrowProfile(kind.text, profile);
        if (narrow === profile) return;
        dropped++;
        const mask = (p: CompiledProfile) =>
          kind.kind === "json" ? JSON.stringify(maskJson(kind.value, p, new MaskSession(key))) : maskText(kind.text, p, new MaskSession(key));
        expect(mask(narrow)).toBe(mask(profile));
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 1500) },
    );
    expect(dropped).toBeGreaterThan(50);
  });

  it("lets clean LangGraph answers through: thread lists, runs, messages with usage metadata", () => {
    const thread = {
      thread_id: "1ef8a5b2-3c4d-6e7f-8a9b-0c1d2e3f4a5b",
      created_at: "2026-12-07T14:20:36.123456+00:00",
      metadata: { graph_id: "agent", user: "u-1" },
      status: "idle",
      values: {
        messages: [
          {
            type: "ai",
            content: "The graph returned 3 results for your question.",
            id: "run-0c1d2e3f-4a5b-6e7f-8a9b-1ef8a5b23c4d",
            usage_metadata: { input_tokens: 12, output_tokens: 40, total_tokens: 52 },
            response_metadata: { finish_reason: "stop", model_name: "gpt-4o-2024-08-06" },
          },
        ],
      },
    };
    const body = Buffer.from(JSON.stringify([thread, thread]));
    expect(couldContainSensitive(body, defaultProfile(), "application/json")).toBe(false);
    expect(couldContainSensitive("plain words, numbers 42 and 3.14, no secret here", defaultProfile())).toBe(false);
  });

  it.each([
    ["an email", '{"a":"write to jane.doe@example.com"}'],
    ["an escaped email", '{"a":"jane.doe\\u0040example.com"}'],
    ["a card as \\u escapes", '{"a":"\\u0034111 1111 1111 1111"}'],
    ["a card as a JSON number", '{"n":4.111111111111111e15}'],
    ["a key-named field", '{"Pass-Word":"hunter2"}'],
    ["a phone after an escaped newline", '{"a":"call\\n+1 415 555 0132"}'],
    ["an AWS key id", '{"a":"AKIAQ7XKP2MVN9TZR4WL"}'],
    ["a secret assignment", "config: api_key = Q7xkP2mVn9TzR4wLs8YbJ3hF"],
    ["an IBAN in printed groups", "pay DE89 3704 0044 0532 0130 00"],
  ])("says 'could' for %s", (_name, body) => {
    expect(couldContainSensitive(Buffer.from(body), defaultProfile(), "application/json")).toBe(true);
    expect(engineActs(Buffer.from(body), "application/json", defaultProfile())).toBe(true);
  });

  it("says 'could' for bodies the engine transcodes or refuses (UTF-16, BOM, binary, other charsets)", () => {
    const p = defaultProfile();
    expect(couldContainSensitive(Buffer.from('{"a":"x"}', "utf16le"), p, "application/json; charset=utf-16le")).toBe(true);
    expect(couldContainSensitive(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"a":"x"}', "utf16le")]), p, "application/json")).toBe(true);
    expect(couldContainSensitive(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), p, "application/json")).toBe(true);
    expect(couldContainSensitive(Buffer.from([0x61, 0x00, 0x62]), p, "text/plain")).toBe(true);
    expect(couldContainSensitive(Buffer.from([0xc3, 0x28]), p, "text/plain")).toBe(true);
    expect(couldContainSensitive(Buffer.from("plain"), p, "text/plain; charset=iso-8859-1")).toBe(true);
  });

  it("runs admin regexes on the raw text, and says 'could' for anchored ones", () => {
    const acme = compileProfile([{ kind: "regex", match: "ACME-[0-9]{4}", style: "redact" }]);
    expect(couldContainSensitive('{"a":"order ACME-1234"}', acme)).toBe(true);
    expect(couldContainSensitive('{"a":"order ACME-12"}', acme)).toBe(false);
    expect(couldContainSensitive('{"a":"order ACME\\u002d1234"}', acme)).toBe(true); // escape: could
    const anchored = compileProfile([{ kind: "regex", match: "^secret$", style: "redact" }]);
    expect(couldContainSensitive('{"a":"nothing"}', anchored)).toBe(true);
    const negated = compileProfile([{ kind: "regex", match: "ACME-[^ ]{4}", style: "redact" }]);
    expect(couldContainSensitive('{"a":"nothing"}', negated)).toBe(false);
  });

  it("finds key rules in key position only (separators and case as normalizeKey ignores them)", () => {
    const p = compileProfile([{ kind: "key", match: "*token", style: "redact" }, { kind: "key", match: "ssn", style: "redact" }]);
    expect(couldContainSensitive('{"input_tokens":12,"note":"ssn"}', p)).toBe(false);
    expect(couldContainSensitive('{"Access-Token":"x"}', p)).toBe(true);
    expect(couldContainSensitive('{"S.S.N":"x"}', p)).toBe(true);
  });
});
