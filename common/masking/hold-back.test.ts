import { defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { HoldBack } from "./hold-back.js";
import { maskText } from "./text.js";

const profile = defaultProfile();
const R62 = "Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0oWqX";

/** Streams `pieces` through a fresh HoldBack; returns each push's output and the flush. */
function stream(pieces: string[], maxHold?: number): { outs: string[]; all: string } {
  const hb = new HoldBack(profile, new MaskSession(), maxHold);
  const outs = pieces.map((p) => hb.push(p));
  outs.push(hb.flush());
  return { outs, all: outs.join("") };
}

const SHORT_CASES: Array<[text: string, secret: string]> = [
  ["Your card is 4111 1111 1111 1111, thanks!", "4111 1111 1111 1111"],
  ["Mail me: jane.doe@example.org today", "jane.doe@example.org"],
  ["Call +44 (20) 7946 0958 after six", "+44 (20) 7946 0958"],
  ["IBAN DE89 3704 0044 0532 0130 00 for rent", "DE89 3704 0044 0532 0130 00"],
  [`export OPENAI_API_KEY=sk-proj-${R62.slice(0, 20)}T3BlbkFJ${R62.slice(20)} ok`, `T3BlbkFJ${R62.slice(20)}`],
  ['config: password = "correct horse battery staple" end', "horse battery"],
  [`aws secret key:\n${R62}\n`, R62],
  ["ssn 219-09-9999.", "219-09-9999"],
];

describe("HoldBack", () => {
  it.each(SHORT_CASES)("a secret split at any single point is masked: %j", (text, secret) => {
    const expected = maskText(text, profile, new MaskSession());
    expect(expected).not.toContain(secret);
    for (let i = 0; i <= text.length; i++) {
      expect(stream([text.slice(0, i), text.slice(i)]).all).toBe(expected);
    }
  });

  it.each(SHORT_CASES)("a secret streamed one character at a time is masked: %j", (text) => {
    expect(stream([...text]).all).toBe(maskText(text, profile, new MaskSession()));
  });

  it("masks a card split over three chunks", () => {
    const { outs, all } = stream(["card 4111 1111", " 1111 ", "1111", " done"]);
    expect(all).toBe("card [REDACTED:credit_card] done");
    for (const o of outs) expect(o).not.toMatch(/\d{4}/);
  });

  it("lets prose flow one word behind", () => {
    const hb = new HoldBack(profile, new MaskSession());
    expect(hb.push("Hello there, this is a ")).toBe("Hello there, this is a ");
    expect(hb.idle).toBe(true);
    expect(hb.push("test")).toBe("");
    expect(hb.push(" of streaming")).toBe("test of ");
    expect(hb.flush()).toBe("streaming");
  });

  it("holds digit groups that may continue, and releases them once they cannot", () => {
    const hb = new HoldBack(profile, new MaskSession());
    expect(hb.push("room 4111 ")).toBe("room ");
    expect(hb.push("is free.")).toBe("4111 is ");
    expect(hb.flush()).toBe("free.");
  });

  it("bounds what it holds, even for an endless run of digit groups", () => {
    const hb = new HoldBack(profile, new MaskSession(), 64);
    let released = 0;
    for (let i = 0; i < 2000; i++) {
      released += hb.push(`${i % 10} `).length;
      expect(2 * (i + 1) - released).toBeLessThanOrEqual(64 + 2);
    }
  });

  it("replaces a token longer than the bound at once and swallows the rest of it", () => {
    const payload = Buffer.from(JSON.stringify({ sub: "x".repeat(300), role: "admin" })).toString("base64url");
    const token = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${payload}.c2lnbmF0dXJlLXNpZ25hdHVyZQ`;
    const text = `token ${token} end`;
    const pieces = text.match(/[\s\S]{1,7}/g)!;
    const { all } = stream(pieces);
    expect(all).toBe("token [REDACTED:jwt] end");
  });

  it("swallows a private key block until its END line, then resumes", () => {
    const body = Array.from({ length: 30 }, (_, i) => R62.slice(i % 10) + R62.slice(0, i % 10) + "abcdefghijklmnopqrstuvwx").join("\n");
    const text = `key:\n-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\nafter the key`;
    const pieces = text.match(/[\s\S]{1,13}/g)!;
    const { all } = stream(pieces);
    expect(all).toBe("key:\n[REDACTED:private_key]\nafter the key");
  });

  it("releases a long word without secrets unchanged", () => {
    const word = "A".repeat(10) + "b".repeat(600);
    const { all } = stream((`x ${word} y`).match(/[\s\S]{1,5}/g)!);
    expect(all).toBe(`x ${word} y`);
  });

  it("keeps contextual detectors working across releases", () => {
    const { all } = stream(["my aws_secret_access_key is ", `${R62.slice(0, 20)}`, `${R62.slice(20)} ok`]);
    expect(all).toBe("my aws_secret_access_key is [REDACTED:aws_secret] ok");
  });
});
