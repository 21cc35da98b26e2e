/**
 * The fast JSON body paths against the reference they replace: maskBody / maskBodyKeepClean
 * mask the parsed body in place (maskJsonInPlace) and skip serialising a clean one; the
 * reference is JSON.parse → maskJson (a copy) → JSON.stringify, and "untouched" exactly when
 * that output equals the compact serialisation of the parsed body. Same output, same
 * verdict, same counts and pseudonyms, on generated bodies dense in secrets, near misses,
 * \uXXXX escapes (digits too), key-named members of every type, masked keys that collide,
 * `__proto__` and integer-like keys, long integers, pretty-printed text and non-ASCII.
 */
import fc from "fast-check";
import { compileProfile, defaultProfile, type CompiledProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskJson, maskJsonInPlace } from "./json.js";
import { keyTokens, maskBody, maskBodyKeepClean } from "./body.js";
import { bodies, write, Members } from "./testing/json-bodies.js";
import { secret } from "./testing/secrets.js";

const KEY = new Uint8Array(32).fill(9);

const PROFILES: Array<[string, CompiledProfile]> = [
  ["default", defaultProfile()],
  [
    "paths, pseudonyms, partial",
    compileProfile([
      { kind: "path", match: "$.a[*].note", style: "pseudonym", label: "note" },
      { kind: "path", match: "b.*", style: "redact", label: "b" },
      { kind: "key", match: "cvv", style: "pseudonym" },
      { kind: "detector", match: "email", style: "pseudonym" },
      { kind: "detector", match: "credit_card", style: "partial" },
      { kind: "detector", match: "phone", style: "partial" },
      { kind: "key", match: "*password", style: "redact" },
      { kind: "regex", match: "\\bACME-\\d{4}\\b", style: "redact", label: "acme" },
    ]),
  ],
];

type Verdict = { untouched: true } | { body: string };

/** Members of every object in a parsed value. */
function countMembers(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + countMembers(x), 0);
  if (typeof v !== "object" || v === null) return 0;
  return Object.keys(v).reduce((n, k) => n + 1 + countMembers((v as Record<string, unknown>)[k]), 0);
}

/**
 * The reference: parse, mask a copy, serialise; untouched when that equals the body's compact
 * form and the text writes no more keys than the parsed value has members (no repeated key).
 */
function reference(text: string, profile: CompiledProfile, session: MaskSession): { out: string; verdict: Verdict } {
  const parsed = JSON.parse(text) as unknown;
  const out = JSON.stringify(maskJson(parsed, profile, session));
  return { out, verdict: out === JSON.stringify(parsed) && keyTokens(text) === countMembers(parsed) ? { untouched: true } : { body: out } };
}

const RUNS = Number(process.env.FC_RUNS ?? 1500);

describe.each(PROFILES)("JSON bodies masked in place (%s profile) equal the copying reference", (_name, profile) => {
  it("maskBody: same text, counts and pseudonyms", () => {
    fc.assert(
      fc.property(bodies, (text) => {
        const want = new MaskSession(KEY);
        const got = new MaskSession(KEY);
        const { out } = reference(text, profile, want);
        expect(maskBody(Buffer.from(text), "application/json", profile, got)).toEqual({ ok: true, body: out });
        expect(got.counts).toEqual(want.counts);
      }),
      { numRuns: RUNS },
    );
  });

  it("maskBodyKeepClean: untouched exactly when the reference changes nothing, else the same text", () => {
    fc.assert(
      fc.property(bodies, (text) => {
        const want = new MaskSession(KEY);
        const got = new MaskSession(KEY);
        const { verdict } = reference(text, profile, want);
        const r = maskBodyKeepClean(text, "application/json", profile, got);
        expect("untouched" in r ? { untouched: true } : { body: (r as { body: string }).body }).toEqual(verdict);
        expect(got.counts).toEqual(want.counts);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("maskJsonInPlace", () => {
  it("rebuilds an object whose key is masked, keeping member order and both colliding members", () => {
    const p = compileProfile([{ kind: "detector", match: "email", style: "redact" }]);
    const v = JSON.parse('{"id":"1","a@b.io":1,"__proto__":{"c@d.io":"e@f.io"},"[REDACTED:email]":3,"z":"g@h.io"}') as unknown;
    const want = JSON.stringify(maskJson(v, p, new MaskSession(KEY)));
    const r = maskJsonInPlace(v, p, new MaskSession(KEY));
    expect(r.changed).toBe(true);
    expect(JSON.stringify(r.value)).toBe(want);
    expect(Object.getPrototypeOf(r.value)).toBe(Object.prototype);
  });

  it("reports no change and returns the same value when nothing is masked", () => {
    const v = JSON.parse('{"a":[1,"two",{"b":null}],"c":"plain words"}') as unknown;
    const r = maskJsonInPlace(v, defaultProfile(), new MaskSession(KEY));
    expect(r).toEqual({ value: v, changed: false, members: 3 });
    expect(r.value).toBe(v);
  });

  it("a replaced value deep inside counts as a change", () => {
    const cases: Array<[string, boolean]> = [
      ['[[["mail a@b.io"]]]', true],
      ['{"x":{"y":[{"password":null},{"cvv":123}]}}', true],
      ['{"x":{"y":[{"password":null},{"cvv":"[REDACTED:cvv]"}]}}', false],
      ['{"n":[4111111111111111]}', true],
      ['{"n":[4111111111111112]}', false],
    ];
    for (const [text, changed] of cases) {
      const r = maskJsonInPlace(JSON.parse(text), defaultProfile(), new MaskSession(KEY));
      expect(JSON.stringify(r.value)).toBe(JSON.stringify(maskJson(JSON.parse(text), defaultProfile(), new MaskSession(KEY))));
      expect(r.changed).toBe(changed);
    }
  });
});

describe("maskBodyKeepClean and repeated keys", () => {
  const profile = defaultProfile();

  it("never relays a secret JSON.parse dropped with a repeated key (the body leaves re-serialised)", () => {
    const body = fc.tuple(
      fc.constantFrom("note", "content", "a"),
      secret,
      fc.array(fc.tuple(fc.constantFrom("x", "y", "note2"), fc.constantFrom("ok", "fine words", 1, null)), { maxLength: 3 }),
      fc.constantFrom(undefined, "  "),
      fc.boolean(),
    );
    fc.assert(
      fc.property(body, ([key, s, others, indent, nested]) => {
        const obj = new Members([[key, `mail ${s} now`], ...others, [key, "clean words"]]);
        const text = write(nested ? new Members([["outer", [obj]]]) : obj, indent);
        const r = maskBodyKeepClean(Buffer.from(text), "application/json", profile, new MaskSession(KEY));
        expect(r).toEqual({ ok: true, body: JSON.stringify(JSON.parse(text)) });
        expect("untouched" in r ? text : (r as { body: string }).body).not.toContain(s);
      }),
      { numRuns: 300 },
    );
  });

  it("still relays clean bodies untouched, indented or compact; a quote-colon inside a string only costs the re-serialisation", () => {
    for (const text of ['{"a":{"b":[1,"two"]},"c":null}', '{\n  "a" : {\n\t"b": [1, "two"]\n  },\n  "c":null\n}', "[]", '"plain"']) {
      expect(maskBodyKeepClean(text, "application/json", profile, new MaskSession(KEY))).toEqual({ ok: true, untouched: true });
    }
    const quoted = '{"a":"say \\":\\" here"}';
    expect(maskBodyKeepClean(quoted, "application/json", profile, new MaskSession(KEY))).toEqual({ ok: true, body: JSON.stringify(JSON.parse(quoted)) });
  });

  it("keyTokens counts every key written, however spaced", () => {
    expect(keyTokens('{"a":1,"b" :{"c"\n:\t2},"d":[{"e":"f"}]}')).toBe(5);
    expect(keyTokens('["a","b:c", "d", 1]')).toBe(0);
    expect(keyTokens('[":x"]')).toBe(1); // a string opening with a colon counts too: more, never fewer
  });
});
