import { defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskBody } from "./body.js";

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
});
