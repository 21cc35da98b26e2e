import * as grpc from "@grpc/grpc-js";
import { proxyTokenChecker } from "./proxy-auth.js";

const TOKEN = "proxy-token-0123456789abcdef";
const NEXT = "rotated-token-fedcba9876543210";

function md(...values: string[]): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const v of values) m.add("authorization", v);
  return m;
}

describe("proxyTokenChecker", () => {
  const check = proxyTokenChecker([TOKEN, NEXT]);

  test.each([
    ["no header", md(), "missing-token"],
    ["wrong token", md("Bearer proxy-token-0123456789abcdeX"), "invalid-token"],
    ["prefix of the token", md(`Bearer ${TOKEN.slice(0, -1)}`), "invalid-token"],
    ["token plus suffix", md(`Bearer ${TOKEN}x`), "invalid-token"],
    ["other scheme", md(`Basic ${TOKEN}`), "malformed-authorization"],
    ["bare token", md(TOKEN), "malformed-authorization"],
    ["empty bearer", md("Bearer "), "malformed-authorization"],
    ["two tokens in one header", md(`Bearer ${TOKEN} ${TOKEN}`), "malformed-authorization"],
    ["two headers", md(`Bearer ${TOKEN}`, `Bearer ${TOKEN}`), "malformed-authorization"],
  ])("%s → %s", (_name, metadata, reason) => {
    expect(check(metadata)).toEqual({ ok: false, reason });
  });

  test.each([
    ["current token", md(`Bearer ${TOKEN}`)],
    ["rotated token", md(`Bearer ${NEXT}`)],
    ["lower-case scheme", md(`bearer ${TOKEN}`)],
  ])("%s → ok", (_name, metadata) => {
    expect(check(metadata)).toEqual({ ok: true });
  });

  test("binary metadata values are refused, not crashed on", () => {
    const m = new grpc.Metadata();
    m.add("authorization-bin", Buffer.from(TOKEN));
    expect(check(m)).toEqual({ ok: false, reason: "missing-token" });
  });

  test.each([[""], ["short"], [[]], [[TOKEN, "tiny"]]])("configuration %j is refused at start-up", (tokens) => {
    expect(() => proxyTokenChecker(tokens)).toThrow();
  });
});
