import fc from "fast-check";
import { BUILTIN_DETECTORS } from "./detectors/index.js";
import { shapeOf } from "./detectors/text-shape.js";
import { compileProfile, defaultProfile, type CompiledProfile } from "./profile.js";
import { findAllSpans, findSpans } from "./spans.js";
import { maskText } from "./text.js";
import { MaskSession } from "./session.js";
import { words } from "./testing/bodies.js";
import { secret } from "./testing/secrets.js";

/**
 * The fast path (findSpans: detectors skipped when their `mayMatch` says no, judged on one
 * shared pass over the text) must mask exactly what running every detector masks
 * (findAllSpans). Texts are dense in secrets of every class, cut secrets and near misses.
 */

const R62 = "Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0oWqX"; // 40 random-looking base62 characters
// Secrets and shapes the shared generators do not plant, and the boundaries gates look at.
const MORE = fc.constantFrom(
  "123-45-6789", "123 45 6789", "078.05.1120", "10.20.30.40", "10.20.30.4000", "192.168.1.1/24", "::1", "fe80::1%eth0",
  "2001:db8::8a2e:370:7334", "::ffff:192.0.2.128", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "NO9386011117947",
  "(415) 555-0132", "+44 20 7946 0958", "07700 900123", "415.555.0132", "call 4155550132", "x123", "ext. 12",
  "card2 ", "v2 ", "5018 1234 5673", "4539 1488 0343 6467", "3782 822463 10005",
  "aws_secret_access_key=", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0oWqX",
  // whole assignments too: the pieces above rarely meet in order, and the non-vacuity check below needs > 5 finds
  "aws_secret_access_key = Zq8Rt5Kx2Wm9Pv4Lb7YcN3hFc6GdK1aE5uN0oWqX", 'AWS_SECRET_ACCESS_KEY="Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0/+qX"',
  "password is hunter2!", "my token was ", "<password>",
  // prose forms (no "= : , ( >"): the keyword's identifier, then spaces, tabs, quotes or "]", then " is " / " was "
  "db password\tis hunter2!", 'my "token" is Zq8Rt5Kx2!', "api_key ]  was 9f8e7d6c5b4a3!", '"token"]    is Zq8Rt5Kx2!', "'api_key'\t\t\t\twas 9f8e7d6c5b4a3!", "the secret   \t was\ts3cr3t!!x", "password is\nhunter2!",
  "token        is x9Rt5Kx2!", "token         is x9Rt5Kx2!", "an_extremely_long_identifier_that_goes_on_and_on_and_on_for_a_while_password is hunter22!", " is ", " was ", "\tis\t", "</password>", "Credential(\"u\", \"", "API_KEY=", "\"key\": \"",
  "api_key  =  'Zq8Rt5Kx2Wm9Pv4L'", "\"password\"  :  \"hunter22\"", "db_secret']\t\t=> 'Zq8Rt5Kx2Wm9Pv4L'", "the token  was  x9Rt5Kx2!",
  "-----BEGIN RSA PRIVATE KEY-----\n", "-----END RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA75Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1",
  "xoxb-1234567890-1234567890123-", "xoxb-1234567890-1234567890123-Zq8Rt5Kx2Wm9Pv4Lb7Yc", `AIza${R62.slice(0, 35)}`, `sk-${R62}${R62.slice(0, 8)}`, `sk-ant-api03-${R62}${R62}${R62.slice(0, 10)}`,
  "glpat-Zq8Rt5Kx2Wm9Pv4Lb7Yc", "sk_live_Zq8Rt5Kx2Wm9Pv4Lb7Yc", "sk-Zq8Rt5Kx2Wm9Pv4Lb7YcN3hFc6GdK1aE5uN0oWqXj2Rt5Kx2Wm9Pv", "https://hooks.slack.com/services/T0000/B0000/", `https://hooks.slack.com/services/T00000000/B00000000/${R62.slice(0, 24)}`, "sk-ant-api03-", "sk_live_", "rk_test_",
  "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "0x52908400098527886E0F7030069857D2E4169EE7", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
  "user@münchen.de", "名前test@test.com", "jane.doe@example.com",
  // short and long number runs before cards and SSNs (where their scans start, longNumberAt)
  "1234567", "12 34 56 78", "(12) 345-67.89", " - ", "4111", "1111 1111", "+1 (", "1-2-3-4-5-6-7-8",
);
// Every literal prefix a gate looks for, with a random-looking body of a random length.
const PREFIXED = fc
  .tuple(
    fc.constantFrom(
      "sk-", "sk-proj-", "sk-ant-api03-", "sk_live_", "rk_test_", "sk_prod_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
      "glpat-", "gldt-", "glrt-", "glagent-", "gloas-", "glcbt-", "glimt-", "glptt-", "GR1348941", "xoxb-123-456-", "xoxp-1-2-", "xoxe-1-",
      "xoxe.xoxb-1-", "xapp-1-A1-", "AIza", "eyJhbGciOiJIUzI1NiJ9.eyJ", "https://hooks.slack.com/services/", "hooks.slack.com/workflows/",
    ),
    fc.nat(R62.length - 1),
    fc.integer({ min: 8, max: 130 }),
  )
  .map(([prefix, at, length]) => prefix + (R62.slice(at) + R62 + R62 + R62).slice(0, length));
const PIECE = fc.oneof({ weight: 3, arbitrary: words }, { weight: 2, arbitrary: MORE }, { weight: 1, arbitrary: secret }, { weight: 1, arbitrary: PREFIXED });
const SEP = fc.constantFrom("", " ", "  ", "-", ".", ":", "=", ",", "\n", "_", "a", "9", "é");
const text = fc.array(fc.tuple(PIECE, SEP), { maxLength: 8 }).map((xs) => xs.map(([p, s]) => p + s).join(""));

const DEFAULT = defaultProfile();
const SMALL = compileProfile([
  { kind: "key", match: "password", style: "redact" },
  { kind: "detector", match: "email", style: "pseudonym" },
  { kind: "detector", match: "credit_card", style: "partial" },
  { kind: "regex", match: "ACME-[0-9]{4}", style: "redact" },
  { kind: "detector", match: "generic_secret", style: "redact" },
]);
const RUNS = Number(process.env.FC_RUNS ?? 3000);

describe("detector gates (mayMatch on the text's shape)", () => {
  it("never say no where the detector finds something", () => {
    const found = new Map<string, number>();
    const skipped = new Map<string, number>();
    fc.assert(
      fc.property(text, (t) => {
        for (const d of BUILTIN_DETECTORS.values()) {
          const spans = d.find(t);
          const may = d.mayMatch === undefined || d.mayMatch(t, shapeOf(t));
          if (spans.length > 0) {
            found.set(d.name, (found.get(d.name) ?? 0) + 1);
            expect({ detector: d.name, may }).toEqual({ detector: d.name, may: true });
          } else if (!may) skipped.set(d.name, (skipped.get(d.name) ?? 0) + 1);
        }
      }),
      { numRuns: RUNS },
    );
    if (process.env.SHOW_GATES) console.log({ found, skipped });
    // not vacuous: the generated texts hold secrets of every class, and every gate skips some texts
    for (const d of BUILTIN_DETECTORS.values()) {
      expect({ detector: d.name, found: (found.get(d.name) ?? 0) > 5 }).toEqual({ detector: d.name, found: true });
      expect({ detector: d.name, skipped: (skipped.get(d.name) ?? 0) > 5 }).toEqual({ detector: d.name, skipped: true });
    }
  });

  it.each<[string, CompiledProfile]>([
    ["default", DEFAULT],
    ["small", SMALL],
  ])("findSpans finds exactly the spans of running every matcher (%s profile), and masks the same", (_name, profile) => {
    const key = new Uint8Array(32).fill(7);
    let masked = 0;
    fc.assert(
      fc.property(text, (t) => {
        const fast = findSpans(t, profile);
        expect(fast).toEqual(findAllSpans(t, profile));
        if (fast.length > 0) masked++;
        expect(maskText(t, profile, new MaskSession(key))).toBe(maskText(t, profile, new MaskSession(key), findAllSpans));
      }),
      { numRuns: RUNS },
    );
    expect(masked).toBeGreaterThan(RUNS / 8);
  });

  it("computes the shape of the asked text, not a previous one", () => {
    expect(shapeOf("4111 1111 1111 1111").numberRunDigits).toBe(16);
    expect(shapeOf("no digits here").numberRunDigits).toBe(0);
    // where the card and SSN scans start: the first run of digits and separators with 8+ digits
    expect(shapeOf("call 1234567 or (+1) 415-555-0132 x").longNumberAt).toBe("call 1234567 or".length);
    expect(shapeOf("id 12.34.56.78 then 123-45-6789").longNumberAt).toBe(2);
    expect(shapeOf("1234567a 1 2 3 4 5 6 7").longNumberAt).toBe(22);
    expect(shapeOf("4111 1111 1111 1111").longNumberAt).toBe(0);
    expect(shapeOf("DE89 3704").ibanStart).toBe(true);
    expect(shapeOf("ADE89 3704").ibanStart).toBe(false);
    expect(shapeOf("10.20.30.40").dottedQuad).toBe(true);
    expect(shapeOf("10.20.30").dottedQuad).toBe(false);
    expect(shapeOf("fe80::1").hexColon).toBe(true);
    expect(shapeOf("at 12 : 30").hexColon).toBe(false);
  });

  it("leaves dotted quads with a 4-digit octet alone, masks real ones (#12)", () => {
    for (const t of ["10.20.30.4000", "host 192.168.100.1234", "v 1.2.3.4567"]) expect(maskText(t, DEFAULT, new MaskSession())).toBe(t);
    expect(maskText("host 10.20.30.40", DEFAULT, new MaskSession())).toBe("host [REDACTED:ip_address]");
  });
});
