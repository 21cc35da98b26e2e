import fc from "fast-check";
import { parseBearer } from "./bearer.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_";

describe("parseBearer", () => {
  test.each([
    ["Bearer", `Bearer ${TOKEN}`],
    ["lower case scheme", `bearer ${TOKEN}`],
    ["upper case scheme", `BEARER ${TOKEN}`],
    ["single-element array", [`Bearer ${TOKEN}`]],
  ])("accepts %s", (_name, header) => {
    expect(parseBearer(header)).toEqual({ ok: true, token: TOKEN });
  });

  test.each([
    ["absent", undefined, "AUTHN_MISSING"],
    ["empty", "", "AUTHN_MISSING"],
    ["empty array", [], "AUTHN_MISSING"],
    ["repeated header", [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`], "AUTHN_MALFORMED"],
    ["scheme only", "Bearer", "AUTHN_MALFORMED"],
    ["scheme and space only", "Bearer ", "AUTHN_MALFORMED"],
    ["two spaces", `Bearer  ${TOKEN}`, "AUTHN_MALFORMED"],
    ["tab", `Bearer\t${TOKEN}`, "AUTHN_MALFORMED"],
    ["leading space", ` Bearer ${TOKEN}`, "AUTHN_MALFORMED"],
    ["trailing space", `Bearer ${TOKEN} `, "AUTHN_MALFORMED"],
    ["two tokens", `Bearer ${TOKEN} ${TOKEN}`, "AUTHN_MALFORMED"],
    ["comma-joined", `Bearer ${TOKEN}, Bearer ${TOKEN}`, "AUTHN_MALFORMED"],
    ["Basic scheme", "Basic dXNlcjpwYXNz", "AUTHN_MALFORMED"],
    ["token only", TOKEN, "AUTHN_MALFORMED"],
    ["padding '='", `Bearer ${TOKEN}==`, "AUTHN_MALFORMED"],
    ["'+' and '/'", "Bearer ab+c/d.e.f", "AUTHN_MALFORMED"],
    ["non-ASCII", `Bearer ${TOKEN}é`, "AUTHN_MALFORMED"],
    ["newline", `Bearer ${TOKEN}\n`, "AUTHN_MALFORMED"],
    ["oversized", `Bearer ${"a".repeat(8 * 1024 + 1)}`, "AUTHN_MALFORMED"],
  ])("rejects %s", (_name, header, code) => {
    expect(parseBearer(header)).toMatchObject({ ok: false, code });
  });

  test("a token of exactly the cap is accepted; the cap is configurable", () => {
    expect(parseBearer(`Bearer ${"a".repeat(8 * 1024)}`).ok).toBe(true);
    expect(parseBearer(`Bearer ${"a".repeat(11)}`, 10)).toMatchObject({ code: "AUTHN_MALFORMED" });
  });

  test("never throws; accepted tokens are exactly base64url-and-dots after one space", () => {
    const messages = new Set<string>();
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = parseBearer(s);
        if (r.ok) {
          expect(s.slice(0, 7).toLowerCase()).toBe("bearer ");
          expect(r.token).toMatch(/^[A-Za-z0-9_.-]+$/);
          expect(s.slice(7)).toBe(r.token);
        } else {
          messages.add(r.message);
        }
      }),
      { numRuns: 2000 },
    );
    // Messages are a small fixed set: nothing from the header value is ever echoed.
    expect(messages.size).toBeLessThanOrEqual(5);
  });
});
