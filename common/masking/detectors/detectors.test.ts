import type { Detector } from "../types.js";
import { BUILTIN_DETECTORS } from "./index.js";

/**
 * Table tests per detector. Each positive names the exact substring that must be found;
 * each negative must produce no span. Token-shaped values are made up for these tests.
 */
const R62 = "Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0oWqX"; // 40 random-looking base62 chars

const TABLE: Record<string, { pos: Array<[text: string, found: string]>; neg: string[] }> = {
  email: {
    pos: [
      ["write to Jane.Doe+news@mail.example.org today", "Jane.Doe+news@mail.example.org"],
      ["<a_b@sub.domain.co.uk>", "a_b@sub.domain.co.uk"],
      ["punycode: user@xn--80ak6aa92e.com.", "user@xn--80ak6aa92e.com"],
      ["名前test@test.com", "名前test@test.com"], // internationalised local part (RFC 6531)
    ],
    neg: ["user@localhost", "a@b.c", "bad@under_score.com", "see https://site.example.com/#x", "@handle", "x@y."],
  },
  credit_card: {
    pos: [
      ["visa 4111 1111 1111 1111 ok", "4111 1111 1111 1111"],
      ["mc 5555-5555-5555-4444", "5555-5555-5555-4444"],
      ["amex 3782 822463 10005", "3782 822463 10005"],
      ["compact 6011000990139424.", "6011000990139424"],
      ["order 12 and card 4012888888881881", "4012888888881881"],
      // #12: right after a word that ends in a digit
      ["card2 4111111111111111", "4111111111111111"],
      ["v2 4539 1488 0343 6467", "4539 1488 0343 6467"],
      ["x9 4539-1488-0343-6467.", "4539-1488-0343-6467"],
      // a 12-digit Maestro number alone in its text (fewer than 13 digits in all)
      ["maestro 5018 1234 5673", "5018 1234 5673"],
    ],
    neg: [
      "4111 1111 1111 1112", // Luhn fails
      "1234 5678 9012 3456", // Luhn fails
      "random 7294017362512893", // no issuer starts with 7
      "id 4111111111111111111111", // too long
      "0000 0000 0000 0000",
      "sizes 1024 2048 4096 8192 16384",
      "amount 4111111111111111.50",
      "tok_4111111111111111",
      "card2 4111111111111112", // after a word ending in a digit, Luhn still decides
      "v2 4539 1488 0343 6468",
      "card24111111111111111", // glued to the word: part of a token
      "maestro 5018 1234 5674", // Luhn fails
    ],
  },
  iban: {
    pos: [
      ["DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"],
      ["pay to GB82WEST12345698765432 please", "GB82WEST12345698765432"],
      ["FR1420041010050500013M02606", "FR1420041010050500013M02606"],
    ],
    neg: [
      "DE89 3704 0044 0532 0130 01",
      "GB82WEST12345698765433",
      "XX89370400440532013000",
      "DE8937040044",
      // a UUID whose tail happens to pass Belgium's length and mod-97: an identifier
      "run-b26f48c9-5c87-44c0-be75-ced98c0bd3da",
      "BE75 CED9 8C0B D3DA", // Belgian BBANs are digits only (registry format 12n)
    ],
  },
  phone: {
    pos: [
      ["call +1 415 555 0132 now", "+1 415 555 0132"],
      ["(415) 555-0132", "(415) 555-0132"],
      ["office 020 7946 0958", "020 7946 0958"],
      ["+33 6 12 34 56 78", "+33 6 12 34 56 78"],
      ["+44 (20) 7946 0958", "+44 (20) 7946 0958"],
      ["ext 212.555.0199x42", "212.555.0199x42"],
      ["my phone is 4155550132", "4155550132"],
    ],
    neg: [
      "2024-05-01 12:30",
      "16-04-2010",
      "version 1.2.3.4",
      "ISBN 978-3-16-148410-0",
      "zip 94105-1234",
      "order 100-200-3000",
      "ssn-like 123-45-6789",
      "id 4155550132", // bare digits without a phone word
      "1 000 000 000 people",
      "3.14159265358979",
      "x=45*31-339243873",
      "PO-001-000016155-9",
      "1234 5678 9012",
    ],
  },
  us_ssn: {
    pos: [
      ["ssn 219-09-9999", "219-09-9999"],
      ["ssn 219 09 9999", "219 09 9999"],
    ],
    neg: ["000-12-3456", "666-12-3456", "912-34-5678", "219-00-9999", "219-09-0000", "219-09.9999", "219099999"],
  },
  ip_address: {
    pos: [
      ["host 192.168.10.1:8080", "192.168.10.1"],
      ["net 10.0.0.0/8", "10.0.0.0/8"],
      ["v6 2001:db8::ff00:42:8329 ok", "2001:db8::ff00:42:8329"],
      ["link fe80::1%eth0", "fe80::1%eth0"],
      ["mapped ::ffff:192.0.2.128", "::ffff:192.0.2.128"],
    ],
    neg: ["1.2.3", "256.1.1.1", "1.1.1.1000", "12:30:45", "Foo::bar()", "aa:bb:cc:dd:ee:ff", "1:2:3:4", "2001:db8::1::2"],
  },
  aws_access_key: {
    pos: [
      ["aws_access_key_id=AKIAQ7XKP2MVN9TZR4WL", "AKIAQ7XKP2MVN9TZR4WL"],
      ["ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"],
      ["documentation-shaped ids are live-shaped: AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"],
    ],
    neg: ["AKIAXXXXXXXXXXXXXXXX", "akiaq7xkp2mvn9tzr4wl", "XAKIAQ7XKP2MVN9TZR4WL", "AKIAQ7XKP2MVN9TZR4W"],
  },
  aws_secret: {
    pos: [[`aws_secret_access_key = ${R62}`, R62], [`"SecretAccessKey": "${R62}"`, R62]],
    neg: [
      R62, // no context
      "aws_secret_access_key = da39a3ee5e6b4b0d3255bfef95601890afd80709", // hex digest
      `aws secret ${R62}x`, // 41 chars
      "aws_secret_access_key = ////////////////////////////////////////",
    ],
  },
  github_token: {
    pos: [[`token ghp_${R62.slice(0, 36)}`, `ghp_${R62.slice(0, 36)}`], [`github_pat_11ABCDEFG0_${R62}${R62}`.slice(0, 93), `github_pat_11ABCDEFG0_${R62}${R62}`.slice(0, 93)]],
    neg: ["ghp_" + "x".repeat(36), "ghp_short", `xghp_${R62.slice(0, 36)}`],
  },
  gitlab_token: {
    pos: [[`glpat-${R62.slice(0, 20)}`, `glpat-${R62.slice(0, 20)}`], [`GR1348941${R62.slice(0, 20)}`, `GR1348941${R62.slice(0, 20)}`], [`glptt-${R62}`, `glptt-${R62}`]],
    neg: ["glpat-" + "X".repeat(20), `glpat-${R62.slice(0, 12)}`, `glptt-${R62}abc`, `glpat_${R62.slice(0, 20)}`],
  },
  slack_token: {
    pos: [
      ["xoxb-2820296237514-5152386766518-O5WzjWGLG0wcCm2WPrjEmnys", "xoxb-2820296237514-5152386766518-O5WzjWGLG0wcCm2WPrjEmnys"],
      ["token=xoxp-523423-234243-234233-e039d02840a0b9379c&x", "xoxp-523423-234243-234233-e039d02840a0b9379c"],
    ],
    neg: ["xoxb-my-bot-token", "xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d", "xoxe.xoxp-1-RANDOMSTRINGHERE", "xoxb-12345-abc123", "xoxo-hugs"],
  },
  slack_webhook: {
    pos: [["url https://hooks.slack.com/services/T0ABC1234/B0DEF5678/" + R62.slice(0, 24), "https://hooks.slack.com/services/T0ABC1234/B0DEF5678/" + R62.slice(0, 24)]],
    neg: ["https://hooks.slack.com/", "https://api.slack.com/services/T0ABC1234"],
  },
  openai_key: {
    pos: [
      [`sk-proj-${R62.slice(0, 20)}T3BlbkFJ${R62.slice(20)}`, `sk-proj-${R62.slice(0, 20)}T3BlbkFJ${R62.slice(20)}`],
      [`key sk-${R62}abcdefgh`, `sk-${R62}abcdefgh`],
    ],
    neg: ["sk-proj-short", `sk-proj-${R62.slice(0, 20)}T4BlbkFJ${R62.slice(20)}`, "task-force"],
  },
  anthropic_key: {
    pos: [[`sk-ant-api03-${R62}${R62}${R62.slice(0, 15)}`, `sk-ant-api03-${R62}${R62}${R62.slice(0, 15)}`]],
    neg: ["sk-ant-api03-short"],
  },
  stripe_key: {
    pos: [[`Stripe.api_key = "sk_live_${R62.slice(0, 24)}"`, `sk_live_${R62.slice(0, 24)}`], [`rk_test_${R62.slice(0, 24)}`, `rk_test_${R62.slice(0, 24)}`]],
    neg: [`pk_live_${R62.slice(0, 24)}`, "sk_live_", "sk_test_xxxxxxxxxxxxxxxxxxxxxxxx"],
  },
  google_api_key: {
    pos: [[`key=AIza${R62.slice(0, 35)}&q=1`, `AIza${R62.slice(0, 35)}`]],
    neg: [`AIza${R62.slice(0, 34)}`, `AIza${R62.slice(0, 36)}`, "AIza" + "a".repeat(35), "AIzaSyabcdefghijklmnopqrstuvwxyz1234567"],
  },
  jwt: {
    pos: [
      [
        "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQtaGVyZQ",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQtaGVyZQ",
      ],
      ["eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0."],
    ],
    neg: ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJAAAA.eyJBBB", "eyJbm90anNvbmF0YWxs.eyJbm90anNvbmF0YWxs.abc"],
  },
  private_key: {
    pos: [
      [
        `x\n-----BEGIN RSA PRIVATE KEY-----\n${R62}${R62}\n${R62}\n-----END RSA PRIVATE KEY-----\ny`,
        `-----BEGIN RSA PRIVATE KEY-----\n${R62}${R62}\n${R62}\n-----END RSA PRIVATE KEY-----`,
      ],
      [`-----BEGIN OPENSSH PRIVATE KEY-----\n${R62}${R62}`, `-----BEGIN OPENSSH PRIVATE KEY-----\n${R62}${R62}`], // cut off
    ],
    neg: ["-----BEGIN PRIVATE KEY-----\nanything\n-----END PRIVATE KEY-----", `-----BEGIN PUBLIC KEY-----\n${R62}${R62}\n-----END PUBLIC KEY-----`],
  },
  generic_secret: {
    pos: [
      ['db_password = "hunter2-horse"', "hunter2-horse"],
      ["CLIENT_SECRET: 7f3c2a1b0d4e4f5a8b6c9d0e1f2a3b4c", "7f3c2a1b0d4e4f5a8b6c9d0e1f2a3b4c"],
      ['{"apiKey": "Zx81QmLw0pT7vNc4"}', "Zx81QmLw0pT7vNc4"],
      ["<password>Tr0ub4dor&3</password>", "Tr0ub4dor&3"],
      ['new NetworkCredential("svc", "Pa55w0rd!x")', "Pa55w0rd!x"],
      ["Authorization: Bearer Zx81QmLw0pT7vNc4QQ", "Zx81QmLw0pT7vNc4QQ"],
      ["My password is hunter22.", "hunter22."], // a final "." may be the password's: masked too
      ["the api token was Zx81QmLw0pT7vNc4QQ, keep it", "Zx81QmLw0pT7vNc4QQ"],
    ],
    neg: [
      "password = getPassword()",
      'password: "${DB_PASSWORD}"',
      "export PASSWORD=$SECRET",
      'passwordLabel: "Password:"',
      "clientId = 73082700-1f09-405b-80d0-3131bfd6272d",
      'token = "abc"',
      "secret_length = X25519.secret_length",
      'api_key = "your_api_key_here"',
      'password = "changeme"',
      "the password is required",
      "your password is incorrect, try again",
      "the token is valid for 3600 seconds",
      "compass = north",
      "token_count = 1234567",
    ],
  },
  crypto_wallet: {
    pos: [
      ["btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"],
      ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"],
      ["eth 0x52908400098527886E0F7030069857D2E4169EE7", "0x52908400098527886E0F7030069857D2E4169EE7"],
    ],
    neg: ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp", "0x" + "0".repeat(40), "8f953371d3e85eddb89b05ed6b9e680791055315c73e1025ab5dba7bb2aee189"],
  },
};

const found = (d: Detector, text: string) => d.find(text).map((s) => text.slice(s.start, s.end));

describe.each(Object.entries(TABLE))("detector %s", (name, { pos, neg }) => {
  const detector = BUILTIN_DETECTORS.get(name)!;

  it("is registered", () => expect(detector?.name).toBe(name));

  it.each(pos)("finds the secret in %j", (text, expected) => {
    expect(found(detector, text)).toContain(expected);
  });

  it.each(neg.map((n) => [n]))("leaves %j alone", (text) => {
    expect(found(detector, text)).toEqual([]);
  });
});

describe("every detector", () => {
  it("has a table", () => {
    expect([...BUILTIN_DETECTORS.keys()].sort()).toEqual(Object.keys(TABLE).sort());
  });

  // Hostile inputs: long runs of what each pattern consumes. A backtracking blow-up would
  // take seconds; linear scans take milliseconds.
  const hostile = [
    "a".repeat(100_000),
    "1".repeat(100_000),
    "1 ".repeat(50_000),
    "1-".repeat(50_000),
    "a@".repeat(50_000),
    "a.".repeat(50_000),
    "ab:".repeat(30_000),
    "eyJ".repeat(30_000),
    "xoxb-1".repeat(15_000),
    "-----BEGIN PRIVATE KEY-----".repeat(3_000),
    "password=".repeat(10_000),
    "A".repeat(100_000),
    "(1".repeat(50_000),
  ];
  // No duration is asserted (speed belongs to `npm run bench`): super-linear backtracking on
  // these 100k-character inputs runs for minutes, so it fails by the test's generous timeout,
  // while linear scans finish and must still return well-formed spans inside the text.
  it.each([...BUILTIN_DETECTORS.keys()])("%s stays linear on hostile input", (name) => {
    const d = BUILTIN_DETECTORS.get(name)!;
    for (const text of hostile) {
      for (const span of d.find(text)) {
        expect(span.start).toBeGreaterThanOrEqual(0);
        expect(span.end).toBeGreaterThan(span.start);
        expect(span.end).toBeLessThanOrEqual(text.length);
      }
    }
  }, 30_000);
});

describe("benign text", () => {
  const benign = [
    "2024-05-01T12:30:45.123Z",
    "Run 3f2b1c9e-8a7d-4e6f-9b0a-1c2d3e4f5a6b finished in 12.345 s",
    "commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "The total is $1,234,567.89 for 12 items.",
    "usage: input_tokens=1532 output_tokens=204 total_tokens=1736",
    "The secret to good bread is patience; use an API key from your dashboard.",
    "token_type: Bearer, expires_in: 3600",
    "ISBN 978-3-16-148410-0, zip 94105-1234, order 100-200-3000",
    "sizes 1024 2048 4096 8192 16384; ids 10001, 10002, 10003",
    "timestamp 1716543210 and 1716543210123",
    "model gpt-4o-mini-2024-07-18, claude-3-5-sonnet-20241022",
    "MD5 d41d8cd98f00b204e9800998ecf8427e",
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUFakeCertDataHere1234567890abcdefghij\n-----END CERTIFICATE-----",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  ];
  it.each(benign.map((b) => [b]))("no detector fires on %j", (text) => {
    for (const d of BUILTIN_DETECTORS.values()) expect([d.name, found(d, text)]).toEqual([d.name, []]);
  });
});

/** Classes added for issue #12, each with negatives of the same shape. */
const CLASSES: Record<string, { pos: Array<[string, string]>; neg: string[] }> = {
  credit_card: {
    pos: [
      ["ref7 4012888888881881", "4012888888881881"], // a word ending in a digit is not a digit group
      ["v10 5105-1051-0510-5100", "5105-1051-0510-5100"],
      ["UnionPay 8171999927660000", "8171999927660000"],
      ["maestro 6759649826438453", "6759649826438453"],
    ],
    neg: ["v2 4012888888881882", "build 8123456789012345"],
  },
  email: {
    pos: [["mail jörg@straße.de", "jörg@straße.de"], ["почта: иван@пример.рф", "иван@пример.рф"]],
    neg: ["icon@3x.webp", "sprite@2x.PNG", "a@b"],
  },
  iban: {
    pos: [["GB29-NWBK-6016-1331-9268-19", "GB29-NWBK-6016-1331-9268-19"], ["gb29 nwbk 6016 1331 9268 19", "gb29 nwbk 6016 1331 9268 19"]],
    neg: ["GB29-NWBK 6016-1331 9268-19", "Gb29 NWBK 6016 1331 9268 19", "gb29 nwbk 6016 1331 9268 18"],
  },
  jwt: {
    pos: [["eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..u5Qz3Aeh3Zl3bcdf.qs7xu0wYB6VJkqt0UGBD.Wf3jzO7Lgln31lGdk7_jqA", "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..u5Qz3Aeh3Zl3bcdf.qs7xu0wYB6VJkqt0UGBD.Wf3jzO7Lgln31lGdk7_jqA"]],
    neg: ["eyJub3QganNvbiBhdCBhbGw.a.b.c.dddddddddd"],
  },
  crypto_wallet: {
    pos: [
      ["TB1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KXPJZSX", "TB1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KXPJZSX"],
      ["n3GNqMveyvaPvUbH469vDRadqpJMPc84JA", "n3GNqMveyvaPvUbH469vDRadqpJMPc84JA"],
    ],
    neg: ["Bc1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "n3GNqMveyvaPvUbH469vDRadqpJMPc84JB"],
  },
  generic_secret: {
    pos: [
      ["APP_KEY=base64:q83vEjRWeJq8vN0Rz1x2Kw==", "base64:q83vEjRWeJq8vN0Rz1x2Kw=="],
      ['"key": "9c1185a5c5e9fc54612808977ee8f548b2258d31"', "9c1185a5c5e9fc54612808977ee8f548b2258d31"],
      ["webhookKey: 'Zx81Kq0LmVb7Tn3Ps5Rw'", "Zx81Kq0LmVb7Tn3Ps5Rw"],
      ["client_secret = 'tiger7'", "tiger7"],
      ["PRIVATE_KEY_PASS=qwerty9", "qwerty9"],
      // license / activation / product keys name a credential: a short random value is enough
      ["license_key: 7f3k9q2m", "7f3k9q2m"],
      ['"licenseKey": "XK29-PQ7M-44TZ"', "XK29-PQ7M-44TZ"],
      ["PRODUCT_KEY=8GH2K9QPZT", "8GH2K9QPZT"],
    ],
    neg: ["license_key: required", "license_key_path: /etc/app/license.lic", "license: MIT", "licenseKey: undefined", '"key": "thread-settings"', "partition_key: tenant_id", "publicKey: 'MFkwEwYHKoZIzj0CAQ'", "cache_key = user:42:profile", "turkey: roasted", "keyword: alpha"],
  },
};

describe.each(Object.entries(CLASSES))("detector %s, classes of #12", (name, { pos, neg }) => {
  const detector = BUILTIN_DETECTORS.get(name)!;
  it.each(pos)("finds the secret in %j", (text, expected) => {
    expect(found(detector, text)).toContain(expected);
  });
  it.each(neg.map((n) => [n]))("leaves %j alone", (text) => {
    expect(found(detector, text)).toEqual([]);
  });
});

describe("detector phone, false positives of #12", () => {
  const phone = BUILTIN_DETECTORS.get("phone")!;
  it.each([["10.20.30.4000"], ["host 192.168.100.1234"], ["ticket 2024-000123"], ["build 4521 883190"]])("leaves %j alone", (text) => {
    expect(found(phone, text)).toEqual([]);
  });
  it.each([["07700 900123", "07700 900123"], ["phone: 4521 883190", "4521 883190"], ["+44 20 7946 0958", "+44 20 7946 0958"]])("still finds %j", (text, expected) => {
    expect(found(phone, text)).toContain(expected);
  });
});
