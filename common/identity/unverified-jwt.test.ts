import fc from "fast-check";
import { decodeUnverifiedJwt } from "./unverified-jwt.js";
import { b64url } from "./testing/test-idp.js";

const jwt = (header: unknown, payload: unknown, sig = "c2ln"): string => `${b64url(header)}.${b64url(payload)}.${sig}`;

describe("decodeUnverifiedJwt", () => {
  test("decodes header and payload without verifying", () => {
    expect(decodeUnverifiedJwt(jwt({ alg: "RS256", kid: "k" }, { iss: "https://i", sub: "s" }))).toEqual({
      ok: true,
      header: { alg: "RS256", kid: "k" },
      payload: { iss: "https://i", sub: "s" },
    });
  });

  test("an empty signature passes the shape check (so alg:none is reported precisely later)", () => {
    expect(decodeUnverifiedJwt(jwt({ alg: "none" }, {}, "")).ok).toBe(true);
  });

  test.each([
    ["empty", "", "AUTHN_MISSING"],
    ["one part", "abc", "AUTHN_MALFORMED"],
    ["empty header", `.${b64url({})}.sig`, "AUTHN_MALFORMED"],
    ["four parts", `${jwt({ alg: "RS256" }, {})}.x`, "AUTHN_MALFORMED"],
    ["header is a string", jwt("RS256", {}), "AUTHN_MALFORMED"],
    ["header is null", jwt(null, {}), "AUTHN_MALFORMED"],
    ["alg not a string", jwt({ alg: 1 }, {}), "AUTHN_MALFORMED"],
    ["crit present", jwt({ alg: "RS256", crit: ["b64"], b64: false }, {}), "AUTHN_MALFORMED"],
    ["payload is a number", jwt({ alg: "RS256" }, 1), "AUTHN_MALFORMED"],
    ["payload is an array", jwt({ alg: "RS256" }, []), "AUTHN_MALFORMED"],
    ["length % 4 == 1", `${b64url({ alg: "RS256" })}.abcde.sig`, "AUTHN_MALFORMED"],
    ["bad UTF-8", `${b64url({ alg: "RS256" })}.${b64url(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]))}.sig`, "AUTHN_MALFORMED"],
    ["padding", `${b64url({ alg: "RS256" })}=.${b64url({})}.sig`, "AUTHN_MALFORMED"],
  ])("rejects %s", (_name, token, code) => {
    expect(decodeUnverifiedJwt(token)).toMatchObject({ ok: false, code });
  });

  test("size cap applies before anything else", () => {
    const big = jwt({ alg: "RS256" }, { pad: "x".repeat(100) });
    expect(decodeUnverifiedJwt(big, big.length).ok).toBe(true);
    expect(decodeUnverifiedJwt(big, big.length - 1)).toMatchObject({ code: "AUTHN_MALFORMED" });
  });

  test("never throws on arbitrary input, including three-part strings", () => {
    const part = fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.tuple(part, part, part).map((p) => p.join("."))), (s) => {
        const r = decodeUnverifiedJwt(s);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 3000 },
    );
  });
});
