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
import { maskBody, maskBodyKeepClean } from "./body.js";
import { escapedJson, words } from "./testing/bodies.js";
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

// keys that rules fire on, that collide once masked, that objects treat specially, and words dense in near misses
const KEYS = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("password", "Pass-Word", "cvv", "ssn", "card_number", "api_key", "my_token", "input_tokens", "note", "content", "a", "b") },
  { weight: 2, arbitrary: fc.constantFrom("x@y.io", "z@w.io", "[REDACTED:email]", "[REDACTED:email]#2", "__proto__", "0", "1", "10", "4111111111111111", "ACME-1234") },
  { weight: 2, arbitrary: secret },
  { weight: 2, arbitrary: words },
);
/** A generated object: its members in order, duplicate keys allowed (JSON.parse keeps the last value, at the first place). */
class Members {
  constructor(readonly members: Array<[string, unknown]>) {}
}
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    words,
    secret,
    fc.constantFrom("[REDACTED:password]", "[email:0123abcd]", "****1111", "ACME-1234", "caf\u00e9 \u540d \u212a", "4111111111111111"),
    fc.integer(),
    fc.constantFrom(4111111111111111, 4.1e15, 1e21, 2.5, -0, 1234567812345678, true, false, null),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.array(fc.tuple(KEYS, tie("value")), { maxLength: 5 }).map((members) => new Members(members)),
}));

/** JSON text of a generated value, compact or indented. */
function write(v: unknown, indent: string | undefined, depth = 0): string {
  const pad = indent === undefined ? "" : `\n${indent.repeat(depth + 1)}`;
  const end = indent === undefined ? "" : `\n${indent.repeat(depth)}`;
  if (v instanceof Members) {
    const ms = v.members.map(([k, x]) => `${pad}${JSON.stringify(k)}:${indent === undefined ? "" : " "}${write(x, indent, depth + 1)}`);
    return `{${ms.join(",")}${ms.length > 0 ? end : ""}}`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => pad + write(x, indent, depth + 1)).join(",")}${v.length > 0 ? end : ""}]`;
  return JSON.stringify(v);
}

/** \uXXXX for some characters inside strings (digits and "@" too): the same JSON. */
function escapeSome(text: string, seed: number): string {
  let out = "";
  let inString = false;
  let n = seed;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString && c === "\\") {
      out += c + text[++i]!;
      continue;
    }
    if (c === '"') inString = !inString;
    n = (n * 1103515245 + 12345) & 0x7fffffff;
    if (inString && c !== '"' && (/[0-9@:=_\-.]/.test(c) ? n % 3 === 0 : n % 11 === 0)) out += `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    else out += c;
  }
  return out;
}

const bodies = fc.oneof(
  escapedJson,
  fc.tuple(value, fc.constantFrom(undefined, "  ", "\t"), fc.boolean(), fc.nat()).map(([v, indent, escape, seed]) => {
    const text = write(v, indent);
    return escape ? escapeSome(text, seed) : text;
  }),
).map((text) => (/^\s*[[{"]/.test(text) ? text : `[${text}]`)); // a bare number or word is text, not JSON (decode.ts)

type Verdict = { untouched: true } | { body: string };

/** The reference: parse, mask a copy, serialise; untouched when that equals the body's compact form. */
function reference(text: string, profile: CompiledProfile, session: MaskSession): { out: string; verdict: Verdict } {
  const parsed = JSON.parse(text) as unknown;
  const out = JSON.stringify(maskJson(parsed, profile, session));
  return { out, verdict: out === JSON.stringify(parsed) ? { untouched: true } : { body: out } };
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
    expect(r).toEqual({ value: v, changed: false });
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
