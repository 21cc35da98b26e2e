import fc from "fast-check";
import { compileProfile, defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskBody, maskBodyKeepClean } from "./body.js";
import { encoded, LABELS } from "./testing/bodies.js";

const p = defaultProfile();

describe("maskBody", () => {
  it("masks JSON structurally for JSON media types (with parameters and +json)", () => {
    for (const ct of ["application/json", "application/json; charset=utf-8", "application/vnd.api+json", "text/json"]) {
      const r = maskBody(Buffer.from('{"password": "hunter22", "n": 1}'), ct, p, new MaskSession());
      expect(r).toEqual({ ok: true, body: '{"password":"[REDACTED:password]","n":1}' });
    }
  });

  it("rejects invalid JSON by default, or masks it as text when asked", () => {
    const bad = '{"note": "mail a@b.io"';
    expect(maskBody(bad, "application/json", p, new MaskSession())).toEqual({ ok: false, code: "invalid_json" });
    expect(maskBody(bad, "application/json", p, new MaskSession(), { onInvalidJson: "reject" })).toEqual({ ok: false, code: "invalid_json" });
    expect(maskBody(bad, "application/json", p, new MaskSession(), { onInvalidJson: "text" })).toEqual({ ok: true, body: '{"note": "mail [REDACTED:email]"' });
  });

  it("passes an empty JSON body through", () => {
    expect(maskBody("", "application/json", p, new MaskSession())).toEqual({ ok: true, body: "" });
  });

  it("masks non-JSON content types as text", () => {
    for (const ct of ["text/plain", undefined, "application/octet-stream"]) {
      expect(maskBody("call +1 415 555 0132", ct, p, new MaskSession())).toEqual({ ok: true, body: "call [REDACTED:phone]" });
    }
  });

  it("masks form bodies field by field, keeping untouched pairs byte for byte", () => {
    const r = maskBody("user=ann&password=hunter%2022&note=mail+a%40b.io&x=%7E", "application/x-www-form-urlencoded", p, new MaskSession());
    expect(r).toEqual({ ok: true, body: `user=ann&password=${encodeURIComponent("[REDACTED:password]")}&note=${encodeURIComponent("mail [REDACTED:email]")}&x=%7E` });
  });

  it("decodes UTF-8 bytes", () => {
    const r = maskBody(Buffer.from('{"t":"é a@b.io"}'), "application/json", p, new MaskSession());
    expect(r).toEqual({ ok: true, body: '{"t":"é [REDACTED:email]"}' });
  });

  describe("content handling by the body, not the label", () => {
    // JSON an upstream may send: escaped email, card digits as \u escapes, key-named fields.
    const doc = '{"contact":"bob\\u0040example.com","pan":"\\u0034111111111111111","cvv":"123","ssn":"078-05-1120","password":"pw","note":"ok"}';
    const LABELS = [undefined, "", "text/plain", "application/octet-stream", "Application/JSON", "APPLICATION/JSON; Charset=UTF-8", "text/html", "application/x-ndjson"];
    const encodings: Array<[string, (s: string) => Buffer, string]> = [
      ["utf-8", (s) => Buffer.from(s), ""],
      ["utf-8 + BOM", (s) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s)]), ""],
      ["utf-16le + BOM", (s) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")]), ""],
      ["utf-16le by charset", (s) => Buffer.from(s, "utf16le"), "; charset=utf-16le"],
      ["utf-16be + BOM", (s) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, "utf16le").swap16()]), ""],
      ["latin1 by charset", (s) => Buffer.from(s, "latin1"), "; charset=ISO-8859-1"],
    ];
    it.each(encodings)("JSON in %s under every label is masked structurally", (_name, encode, param) => {
      for (const label of LABELS) {
        const ct = label === undefined ? (param ? `text/plain${param}` : undefined) : `${label}${param}`;
        const r = maskBody(encode(doc), ct, p, new MaskSession());
        if (param && label?.includes("Charset=UTF-8")) {
          // two charsets: the first (UTF-8) wins, and UTF-16 bytes are not UTF-8 text
          if (!_name.startsWith("latin1")) expect(r).toMatchObject({ ok: false, code: "uninspectable" });
          continue;
        }
        expect(r.ok).toBe(true);
        const out = (r as { body: string }).body;
        expect(JSON.parse(out)).toEqual({
          contact: "[REDACTED:email]",
          pan: "[REDACTED:credit_card]",
          cvv: "[REDACTED:cvv]",
          ssn: "[REDACTED:ssn]",
          password: "[REDACTED:password]",
          note: "ok",
        });
      }
    });

    it("reports when the bytes were transcoded (the caller re-labels the body as UTF-8)", () => {
      expect(maskBody(Buffer.from('{"a":1}', "utf16le"), "application/json; charset=utf-16le", p, new MaskSession())).toEqual({ ok: true, body: '{"a":1}', transcoded: true });
      expect(maskBody(Buffer.from('{"a":1}'), "application/json", p, new MaskSession())).toEqual({ ok: true, body: '{"a":1}' });
    });

    it("refuses what cannot be inspected: binary, bytes invalid in their charset, unknown charsets", () => {
      const cases: Array<[Buffer, string | undefined]> = [
        [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), "image/png"],
        [Buffer.from([0x7b, 0xff, 0xfe, 0xfd, 0x7d, 0x80]), "application/octet-stream"],
        [Buffer.from("a@b.io"), "text/plain; charset=x-made-up"],
        [Buffer.from("{\"a\":\"x\u0000\"}"), undefined],
      ];
      for (const [bytes, ct] of cases) expect(maskBody(bytes, ct, p, new MaskSession())).toMatchObject({ ok: false, code: "uninspectable" });
    });

    it("an event stream under another label is masked event by event", () => {
      const body = `event: values\ndata: ${JSON.stringify({ e: "bob\u0040example.com" }).replace("@", "\\u0040")}\n\n`;
      const r = maskBody(body, "text/plain", p, new MaskSession());
      expect((r as { body: string }).body).toBe('event: values\ndata: {"e":"[REDACTED:email]"}\n\n');
    });
  });
});

describe("maskBodyKeepClean", () => {
  const KEY = new Uint8Array(32).fill(3);
  const profiles = [defaultProfile(), compileProfile([{ kind: "regex", match: "ACME-[0-9]{4}", style: "pseudonym" }, { kind: "key", match: "*token", style: "redact" }])];

  it("is maskBody's result, or `untouched` only when the masked output is the body itself (generated bodies)", () => {
    let untouched = 0;
    fc.assert(
      fc.property(encoded, LABELS, fc.constantFrom(0, 1), ([body, charsetLabel], label, pi) => {
        const ct = charsetLabel ?? label;
        const expected = maskBody(body, ct, profiles[pi]!, new MaskSession(KEY), { onInvalidJson: "text" });
        const actual = maskBodyKeepClean(body, ct, profiles[pi]!, new MaskSession(KEY), { onInvalidJson: "text" });
        if (!("untouched" in actual)) return expect(actual).toEqual(expected);
        untouched++;
        // relaying the original bytes is what masking gives: same text (or the same JSON value), no transcoding
        expect(expected.ok && !expected.transcoded).toBe(true);
        const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
        const out = (expected as { body: string }).body;
        if (out !== text) expect(JSON.parse(out)).toEqual(JSON.parse(text.replace(/^\uFEFF/, "")));
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 400) },
    );
    expect(untouched).toBeGreaterThan(0); // the generator does produce clean bodies
  });

  it("never answers untouched for a body with something to mask, whatever the label", () => {
    for (const ct of [undefined, "text/plain", "application/octet-stream", "Application/JSON"]) {
      expect(maskBodyKeepClean('{"contact":"bob\\u0040example.com"}', ct, defaultProfile(), new MaskSession())).toEqual({ ok: true, body: '{"contact":"[REDACTED:email]"}' });
      expect(maskBodyKeepClean("mail bob@example.com", ct, defaultProfile(), new MaskSession(), { onInvalidJson: "text" })).toEqual({ ok: true, body: "mail [REDACTED:email]" });
    }
    expect(maskBodyKeepClean('{"a": [1, 2], "b": "plain words"}', "application/json", defaultProfile(), new MaskSession())).toEqual({ ok: true, untouched: true });
  });
});
