import { defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskJson } from "./json.js";
import { maskQuery, maskQueryForRecord } from "./query.js";
import { maskHeaders } from "./headers.js";

const p = defaultProfile();
const mj = () => {
  const s = new MaskSession();
  return (v: unknown) => maskJson(v, p, s);
};

describe("maskQuery", () => {
  it("masks by parameter name and by detectors on values; untouched pairs keep their bytes", () => {
    const q = "?namespace=a.b&key=bob%40example.com&access_token=abc123&limit=10&x=%7E&flag";
    expect(maskQuery(q, mj())).toBe(
      `?namespace=a.b&key=${encodeURIComponent("[REDACTED:email]")}&access_token=${encodeURIComponent("[REDACTED:token]")}&limit=10&x=%7E&flag`,
    );
  });

  it("decodes + and percent escapes before matching (no encoding hides a secret)", () => {
    const out = maskQuery("?q=card+4111%201111%201111%201111&e=bob%2540x.io&j=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX3ZhbHVl", mj());
    expect(decodeURIComponent(out)).not.toMatch(/4111 1111|eyJzdWIi/);
  });

  it("records queries of exchanges denied before any policy with the default profile", () => {
    expect(decodeURIComponent(maskQueryForRecord("?key=bob%40example.com&limit=3"))).toBe("?key=[REDACTED:email]&limit=3");
  });

  it("leaves an empty query alone", () => {
    expect(maskQuery("", mj())).toBe("");
    expect(maskQuery("?", mj())).toBe("?");
  });
});

describe("maskHeaders", () => {
  it("masks x-*, link and other headers by name and detectors, keeps the allow-list as sent", () => {
    const out = maskHeaders(
      {
        "content-type": "application/json",
        "x-request-id": "req-1",
        "x-contact": "bob@example.com",
        "x-aws": "AKIAZ7VQ4NMRXW2HT5LP",
        link: '<https://api.example.com/items?page=2&jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c>; rel="next"',
        "x-auth-token": "plain-low-entropy",
        "x-multi": ["a@b.io", "fine"],
        "x-count": "3",
      },
      mj(),
    );
    expect(out["content-type"]).toBe("application/json");
    expect(out["x-request-id"]).toBe("req-1");
    expect(out["x-count"]).toBe("3");
    expect(out["x-contact"]).toBe("[REDACTED:email]");
    expect(out["x-aws"]).toBe("[REDACTED:aws_access_key]");
    expect(out["link"]).toMatch(/^<https:\/\/api\.example\.com\/items\?page=2&jwt=\[REDACTED:jwt\]>; rel="next"$/);
    expect(out["x-auth-token"]).toMatch(/^\[REDACTED:/);
    expect(out["x-multi"]).toEqual(["[REDACTED:email]", "fine"]);
  });
});
