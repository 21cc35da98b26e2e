/**
 * HoldBack's skips (on by default; `new HoldBack(…, false)` is the reference that scans the
 * whole text on every push) must release exactly what the reference releases, push by push,
 * with the same session counts: the word-local detectors scan only from the held text's
 * first word (spansNear), and a piece that continues the held word releases nothing without
 * a scan. The first test checks the property the window relies on, for each detector named
 * word-local: a match that reaches a word lies in that word or after it, and is found the
 * same from the whitespace before it.
 */
import fc from "fast-check";
import { BUILTIN_DETECTORS } from "./detectors/index.js";
import { HoldBack } from "./hold-back.js";
import { isWordLocalPattern, WORD_LOCAL_DETECTORS } from "./word-local.js";
import { compileProfile, defaultProfile, type CompiledProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { findSpans } from "./spans.js";
import { filler, secret } from "./testing/secrets.js";

const RUNS = Number(process.env.FC_RUNS ?? 300);
const KEY = new Uint8Array(32).fill(3);
const R62 = "Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0oWqX";

/** Matches and near misses of every word-local detector, and of the others (whose matches span words). */
const SAMPLES = [
  "Jane.Doe+news@mail.example.org", "a_b@sub.domain.co.uk", "user@xn--80ak6aa92e.com", "名前test@test.com", "x@y.", "logo@2x.png",
  "AKIAQ7XKP2MVN9TZR4WL", "ASIAY34FZKBOKMUTVV7A", "XAKIAQ7XKP2MVN9TZR4WL",
  `ghp_${R62.slice(0, 36)}`, `github_pat_11ABCDEFG0_${R62}${R62}`.slice(0, 93), `xghp_${R62.slice(0, 36)}`,
  `glpat-${R62.slice(0, 20)}`, `GR1348941${R62.slice(0, 20)}`, `glptt-${R62}abc`,
  "xoxb-2820296237514-5152386766518-O5WzjWGLG0wcCm2WPrjEmnys", "token=xoxp-523423-234243-234233-e039d02840a0b9379c&x",
  `https://hooks.slack.com/services/T0ABC1234/B0DEF5678/${R62.slice(0, 24)}`,
  `sk-proj-${R62.slice(0, 20)}T3BlbkFJ${R62.slice(20)}`, `sk-${R62}abcdefgh`, `sk-ant-api03-${R62}${R62}${R62.slice(0, 15)}`,
  `sk_live_${R62.slice(0, 24)}`, `rk_test_${R62.slice(0, 24)}`, `AIza${R62.slice(0, 35)}`,
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQtaGVyZQ", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.",
  "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "0x52908400098527886E0F7030069857D2E4169EE7",
  "192.168.10.1:8080", "10.0.0.0/8", "2001:db8::ff00:42:8329", "fe80::1%eth0", "::ffff:192.0.2.128", "12:30:45", "1.2.3",
  "4111 1111 1111 1111", "+1 415 555 0132", "(415) 555-0132", "219-09-9999", "DE89 3704 0044 0532 0130 00",
  `aws_secret_access_key = ${R62}`, "password: hunter22", "My password is hunter22.", 'api_key="Zx81QmLw0pT7vNc4QQ"',
  "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----",
];
const WORDS = ["the", "key", "token", "is", "was", "at", "(", ")", ",", ".", ":", "=", '"', "@", "/", "-", "_", "x", "é", "😀", "42", "3.14"];
const GLUE = [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "", "", ".", ",", "/", ":", "\u2003"];

const dense = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...SAMPLES), fc.constantFrom(...WORDS), secret, filler), fc.constantFrom(...GLUE)), { minLength: 1, maxLength: 14 })
  .map((parts) => parts.map(([w, g]) => w + g).join(""));

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0;

describe("word-local detectors", () => {
  it("are built-in detector names", () => {
    for (const name of WORD_LOCAL_DETECTORS) expect(BUILTIN_DETECTORS.has(name)).toBe(true);
  });

  it.each([...WORD_LOCAL_DETECTORS])("%s: the matches reaching any word are those found from the whitespace before it", (name) => {
    const p = compileProfile([{ kind: "detector", match: name, style: "redact" }]);
    fc.assert(
      fc.property(dense, (text) => {
        const whole = findSpans(text, p);
        for (let ws = 1; ws < text.length; ws++) {
          if (!isSpace(text.charCodeAt(ws - 1)) || isSpace(text.charCodeAt(ws))) continue;
          const from = ws - 1;
          const near = findSpans(text.slice(from), p).map((s) => ({ start: s.start + from, end: s.end + from, rule: s.rule }));
          expect(near).toEqual(whole.filter((s) => s.end >= ws).map((s) => ({ ...s })));
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("word-local admin patterns", () => {
  it.each(["\\bACME0-[A-Z0-9]{8}\\b", "[a-z]+@", "token_\\w+", "(?:ab|cd){2,}x?", "(?i)secret-\\d+", "(?P<k>key)=[A-Za-z0-9+/]{20}", "^sk-[\\w.-]+$", "\\$\\{[A-Z_]+\\}"])("%s is word-local", (p) => {
    expect(isWordLocalPattern(p, "gu")).toBe(true);
  });

  it.each([".", "a b", "a.b", "\\s", "\\S+", "[^a]", "\\W", "\\D", "[[:alpha:]]", "\\pL", "\\x41", "a\\tb", "é", "token\\s+\\w+", "[ a]", "[\\s]", "\\Qa b\\E", "\\1", "[]a]"])("%s is not", (p) => {
    expect(isWordLocalPattern(p, "gu")).toBe(false);
  });

  it("sticky patterns are not (their matches depend on where the scan starts)", () => {
    expect(isWordLocalPattern("abc", "guy")).toBe(false);
  });

  const ATOMS = ["a", "B", "7", "-", "@", "_", ":", "/", "=", "\\.", "\\d", "\\w", "\\b", "\\B", "[a-z0-9]", "[A-F]", "[.@-]", "[\\w.]", "ACME", "key", "x"];
  const QUANT = ["", "", "+", "*", "?", "{2}", "{1,3}", "+?"];
  const pattern: fc.Arbitrary<string> = fc.letrec((tie) => ({
    atom: fc.oneof({ depthSize: "small" }, fc.constantFrom(...ATOMS), tie("group") as fc.Arbitrary<string>),
    group: fc.tuple(fc.constantFrom("(", "(?:"), tie("alt") as fc.Arbitrary<string>).map(([o, a]) => `${o}${a})`),
    seq: fc.array(fc.tuple(tie("atom") as fc.Arbitrary<string>, fc.constantFrom(...QUANT)), { minLength: 1, maxLength: 4 }).map((xs) => xs.map(([a, q]) => a + q).join("")),
    alt: fc.array(tie("seq") as fc.Arbitrary<string>, { minLength: 1, maxLength: 2 }).map((xs) => xs.join("|")),
  })).alt;

  it("generated patterns of that grammar are judged word-local, and are: matches reaching a word are found from the whitespace before it", () => {
    fc.assert(
      fc.property(pattern, dense, fc.boolean(), (source, text, i) => {
        expect(isWordLocalPattern(source, i ? "i" : "")).toBe(true);
        let p: CompiledProfile;
        try {
          p = compileProfile([{ kind: "regex", match: i ? `/${source}/i` : source, style: "redact" }]);
        } catch {
          return; // RE2 refused it (e.g. it matches the empty string)
        }
        const whole = findSpans(text, p);
        for (let ws = 1; ws < text.length; ws++) {
          if (!isSpace(text.charCodeAt(ws - 1)) || isSpace(text.charCodeAt(ws))) continue;
          if (text.length - ws + 1 < 4) continue; // too short to scan: spansNear scans the whole text
          const near = findSpans(text.slice(ws - 1), p).map((s) => ({ start: s.start + ws - 1, end: s.end + ws - 1, rule: s.rule }));
          expect(near).toEqual(whole.filter((s) => s.end >= ws).map((s) => ({ ...s })));
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ mayEndAfter gates

/** Matches whose decision reads far (keywords, operators) or that hold spaces (quoted values, tags, groups, blocks). */
const REACHING = [
  'password = "two words here"', "api_key: 'a b c d e f'", "<password>hunter two 22</password>", 'NetworkCredential("user", "pass word 22")',
  "Authorization: Bearer Zq8Rt5Kx2Wm9Pv4Lb7YcN3h", "token =>   Zq8Rt5Kx2Wm9Pv4L", "secret:\t\t\"Zq8Rt5Kx2Wm9Pv4L\"", "db password\tis hunter2!",
  "my token was x9Rt5Kx2!", "private_key='Zq8Rt5Kx2Wm9Pv4L'", "aws secret", `AWS secret key ${R62}`,
  "SC18 SSCB 1101 0000 0000 0000 1497 USD", "MU17 BOMM 0101 1010 3030 0200 000M UR", "GB82 WEST 1234 5698 7654 32", "GB82-WEST-1234-5698-7654-32", "gb82 west 1234 5698 7654 32",
  "call me at", "phone: +44 20 7946 0958 ext. 12", "5018 1234 5673", "078.05.1120",
  // no digit or symbol in the value, and spaces inside it far from the operator
  "password = wxyzabcq", "pwd =>   kqzvwxyt", "Authorization: Bearer kqzvwxytKQZVWXYTabcdQRSTwxyz", "token:        Bearer     kqzvwxytKQZVWXYTabcdQRSTwxyz",
  'password = "correct horse battery staple is my long passphrase today"', "<password>correct horse battery staple is my long passphrase today</password>",
  "+44 20 7946 0958 ext 5",
  "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0oWqX\n-----END RSA PRIVATE KEY-----",
  "-----BEGIN PRIVATE KEY----- MIIEpAIBAAKCAQEA75Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0oWqX",
];
const reaching = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...REACHING, ...SAMPLES), fc.constantFrom(...WORDS), secret, filler), fc.constantFrom(...GLUE)), { minLength: 1, maxLength: 10 })
  .map((parts) => parts.map(([w, g]) => w + g).join(""));

describe("mayEndAfter gates", () => {
  const gated = [...BUILTIN_DETECTORS.values()].filter((d) => d.mayEndAfter !== undefined);

  it("are on the detectors HoldBack scans over the whole context (not the word-local ones)", () => {
    expect(gated.map((d) => d.name).sort()).toEqual(["aws_secret", "credit_card", "generic_secret", "iban", "phone", "private_key", "us_ssn"]);
  });

  it.each(gated.map((d) => [d.name, d] as const))("%s: never says no where a span ends after the whitespace", (_name, d) => {
    let found = 0;
    let skipped = 0;
    fc.assert(
      fc.property(reaching, (text) => {
        const spans = d.find(text);
        for (let from = 0; from < text.length; from++) {
          if (!isSpace(text.charCodeAt(from))) continue;
          const may = d.mayEndAfter!(text, from);
          if (spans.some((s) => s.end > from)) {
            found++;
            expect({ text, from, may }).toEqual({ text, from, may: true });
          } else if (!may) skipped++;
        }
      }),
      { numRuns: RUNS * 3 },
    );
    // not vacuous: matches reach past whitespace, and the gate rules some out
    expect(found).toBeGreaterThan(20);
    expect(skipped).toBeGreaterThan(20);
  });
});

// ------------------------------------------------------------------ skips vs the reference

function run(pieces: string[], p: CompiledProfile, maxHold: number | undefined, fast: boolean): { outs: string[]; counts: unknown } {
  const session = new MaskSession(KEY);
  const hb = new HoldBack(p, session, maxHold, fast);
  const outs = pieces.map((piece) => hb.push(piece));
  outs.push(hb.flush());
  return { outs, counts: { ...session.counts } };
}

function same(pieces: string[], p: CompiledProfile, maxHold?: number): void {
  const reference = run(pieces, p, maxHold, false);
  const fast = run(pieces, p, maxHold, true);
  expect(fast.outs).toEqual(reference.outs);
  expect(fast.counts).toEqual(reference.counts);
}

const cutAt = (text: string, cuts: number[]) => {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  return [0, ...points].map((q, i, all) => text.slice(q, all[i + 1] ?? text.length));
};

const PROFILES: Array<[string, CompiledProfile]> = [
  ["default", defaultProfile()],
  ["word-local only", compileProfile([...WORD_LOCAL_DETECTORS].map((match) => ({ kind: "detector" as const, match, style: "pseudonym" as const })))],
  [
    "mixed with regexes",
    compileProfile([
      { kind: "regex", match: "token\\s+\\w+", style: "redact" },
      { kind: "detector", match: "email", style: "pseudonym" },
      { kind: "detector", match: "generic_secret", style: "redact" },
      { kind: "detector", match: "jwt", style: "redact" },
      { kind: "regex", match: "[a-z]+@", style: "redact" },
      { kind: "detector", match: "credit_card", style: "partial" },
      { kind: "detector", match: "openai_key", style: "redact" },
      // after the detectors, across words: merged with an email in the context, the email names the span
      { kind: "regex", match: "\\S+@\\S+\\s\\w+", style: "redact" },
    ]),
  ],
  [
    "word-local regexes around the default rules",
    compileProfile([
      { kind: "regex", match: "\\b[a-z]+-\\d+\\b", style: "redact", label: "ticket" },
      ...[...WORD_LOCAL_DETECTORS].slice(0, 4).map((match) => ({ kind: "detector" as const, match, style: "redact" as const })),
      { kind: "regex", match: "@[a-z]+", style: "pseudonym", label: "handle" },
      { kind: "detector", match: "generic_secret", style: "redact" },
      { kind: "regex", match: "(?i)key\\w*", style: "redact", label: "keyish" },
      { kind: "detector", match: "credit_card", style: "partial" },
    ]),
  ],
];

describe("HoldBack skips: the same releases and counts as scanning everything", () => {
  it.each(PROFILES)("%s profile: dense texts cut anywhere, every hold bound", (_name, p) => {
    fc.assert(
      fc.property(dense, fc.array(fc.nat(), { maxLength: 40 }), fc.constantFrom(undefined, 8, 24, 64), (text, cuts, maxHold) => {
        same(cutAt(text, cuts), p, maxHold);
      }),
      { numRuns: RUNS },
    );
  });

  it("a text dense in secrets, cut at every boundary and one character at a time", () => {
    const text = `mail jane.doe@example.org, key ghp_${R62.slice(0, 36)} (AKIAQ7XKP2MVN9TZR4WL) card 4111 1111 1111 1111 at 10.0.0.1 token: sk-${R62}abcdefgh password is hunter22 eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0. end`;
    for (const [, p] of PROFILES) {
      for (let i = 0; i <= text.length; i++) for (let j = i; j <= text.length; j += 23) same([text.slice(0, i), text.slice(i, j), text.slice(j)], p);
      same([...text], p);
      same([...text], p, 16);
    }
    same(["contact a@b.io ", "nowhere", " else"], PROFILES[2]![1]);
    // a custom match shorter than findSpans' minimum text, alone in the held text
    const short = compileProfile([{ kind: "regex", match: "\\bAB\\b", style: "redact" }, { kind: "detector", match: "phone", style: "redact" }]);
    same(["call the ", "AB"], short); // flushed: the window is " AB"
  });
});
