import { compileProfile, defaultProfile, type MaskingRuleSpec } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskJson } from "./json.js";
import { maskText } from "./text.js";

const KEY = new Uint8Array(32).fill(7);
const session = () => new MaskSession(KEY);

describe("maskJson", () => {
  const profile = compileProfile([
    { kind: "key", match: "password", style: "redact" },
    { kind: "path", match: "input.messages[*].content", style: "redact", label: "message" },
    { kind: "path", match: "$.meta.owner", style: "pseudonym", label: "owner" },
    { kind: "detector", match: "email", style: "pseudonym" },
    { kind: "detector", match: "credit_card", style: "partial" },
    { kind: "detector", match: "jwt", style: "partial" },
  ]);

  it("masks whole values by key (any type, case-insensitive) and by path", () => {
    const input = {
      user: { Password: { old: "a", new: "b" }, PASSWORD: 1234, password: null },
      input: { messages: [{ role: "user", content: "hi" }, { role: "ai", content: ["x", { y: 1 }] }] },
      meta: { owner: "ann" },
    };
    const out = maskJson(input, profile, session()) as typeof input;
    expect(out.user).toEqual({ Password: "[REDACTED:password]", PASSWORD: "[REDACTED:password]", password: null });
    expect(out.input.messages).toEqual([
      { role: "user", content: "[REDACTED:message]" },
      { role: "ai", content: "[REDACTED:message]" },
    ]);
    expect(out.meta.owner).toMatch(/^\[owner:[0-9a-f]{8}\]$/);
  });

  it("runs detectors on every string, keys included, and never mutates the input", () => {
    const input = { notes: ["mail bob@example.com", { "bob@example.com": "card 4111 1111 1111 1111" }], n: 42, ok: true };
    const snapshot = structuredClone(input);
    const s = session();
    const out = maskJson(input, profile, s) as { notes: [string, Record<string, string>] };
    expect(input).toEqual(snapshot);
    const pseudo = out.notes[0].slice(5);
    expect(pseudo).toMatch(/^\[email:[0-9a-f]{8}\]$/);
    expect(out.notes[1]).toEqual({ [pseudo]: "card ****1111" });
    expect(s.counts).toEqual({ email: 2, credit_card: 1 });
  });

  it("partial style only reveals digits for partial-safe kinds", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ";
    expect(maskText(`t ${jwt}`, profile, session())).toBe("t [REDACTED:jwt]");
  });

  it("pseudonyms are stable within a session and differ across sessions", () => {
    const a = new MaskSession();
    const b = new MaskSession();
    const one = maskText("x@example.com", profile, a);
    expect(maskText("x@example.com", profile, a)).toBe(one);
    expect(maskText("y@example.com", profile, a)).not.toBe(one);
    expect(maskText("x@example.com", profile, b)).not.toBe(one);
  });

  it("keeps already-masked values (idempotent) and handles __proto__ keys as data", () => {
    const s = session();
    const once = maskJson(JSON.parse('{"password":"hunter2","__proto__":{"password":"x"}}'), profile, s);
    expect(maskJson(once, profile, s)).toEqual(once);
    expect(Object.getPrototypeOf(once)).toBe(Object.prototype);
    expect(Object.keys(once as object)).toEqual(["password", "__proto__"]);
  });

  it("keeps members whose masked keys coincide", () => {
    const p = compileProfile([{ kind: "detector", match: "email", style: "redact" }]);
    expect(maskJson({ "a@b.io": 1, "c@d.io": 2, "e@f.io": 3 }, p, session())).toEqual({
      "[REDACTED:email]": 1,
      "[REDACTED:email]#2": 2,
      "[REDACTED:email]#3": 3,
    });
  });

  it("bounds recursion on hostile nesting", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 5000; i++) deep = [deep];
    expect(() => JSON.stringify(maskJson(deep, profile, session()))).not.toThrow();
  });

  it("overlapping spans merge under the earliest rule", () => {
    const rules: MaskingRuleSpec[] = [
      { kind: "regex", match: "\\bACME-\\d{4}\\b", style: "redact", label: "acme" },
      { kind: "regex", match: "\\b\\d{4} and", style: "redact", label: "later" },
    ];
    const p = compileProfile(rules);
    expect(maskText("id ACME-1234 and more", p, session())).toBe("id [REDACTED:acme] more");
  });

  it("default profile masks LangGraph-shaped payloads without touching structure", () => {
    const payload = {
      assistant_id: "agent",
      input: { messages: [{ role: "user", content: "My key is sk-proj-Q7xkP2mVn9TzR4wLs8YbT3BlbkFJJ3hFc6GdK1aE5uN0oWqX and mail is a@b.io" }] },
      config: { configurable: { thread_id: "1ef8a5b2-3c4d-6e7f-8a9b-0c1d2e3f4a5b", api_key: "whatever" } },
      metadata: { usage: { input_tokens: 12, total_tokens: 20 } },
    };
    expect(maskJson(payload, defaultProfile(), session())).toEqual({
      ...payload,
      input: { messages: [{ role: "user", content: "My key is [REDACTED:openai_key] and mail is [REDACTED:email]" }] },
      config: { configurable: { thread_id: payload.config.configurable.thread_id, api_key: "[REDACTED:api_key]" } },
    });
  });
});

describe("numbers", () => {
  test("a card number sent as a JSON number is masked; ordinary numbers are not", () => {
    const out = maskJson({ card: 4111111111111111, amount: 4111, id: 1234567812345678, ts: 1764000000000 }, defaultProfile(), new MaskSession()) as Record<string, unknown>;
    expect(out["card"]).toMatch(/^\[REDACTED:credit_card/);
    expect(out["amount"]).toBe(4111);
    expect(out["id"]).toBe(1234567812345678); // fails Luhn
    expect(out["ts"]).toBe(1764000000000);
  });
});
