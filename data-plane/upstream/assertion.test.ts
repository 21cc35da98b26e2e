import { decodeJwt, jwtVerify } from "jose";
import { AssertionSigner, signAssertion } from "./assertion.js";

const identity = { providerId: "p", issuer: "https://idp.example", subject: "alice", email: "a@example.com", groups: ["eng"], expiresAt: 0, claims: {} };
const KEY = "assertion-key-0123456789";

test("the assertion is a standard HS256 JWT that jose verifies with the assertion key", async () => {
  const token = signAssertion(KEY, identity)!;
  const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(KEY), { issuer: "agentgate", audience: "langgraph", algorithms: ["HS256"] });
  expect(protectedHeader.alg).toBe("HS256");
  expect(payload).toMatchObject({ sub: "alice", idp: "https://idp.example", email: "a@example.com", groups: ["eng"] });
  expect(payload.exp! - payload.iat!).toBe(60);
});

test("a wrong key does not verify, and no key means no assertion", async () => {
  const token = signAssertion(KEY, identity)!;
  await expect(jwtVerify(token, new TextEncoder().encode("another-key-0123456789"))).rejects.toThrow();
  expect(signAssertion("", identity)).toBeUndefined();
  expect(new AssertionSigner().sign("", identity)).toBeUndefined();
});

describe("AssertionSigner (fake clock)", () => {
  let now = 1_700_000_000_000;
  const clock = () => now;

  test("reuses an identity's assertion within the window, re-signs after it; every one still verifies", async () => {
    const signer = new AssertionSigner({ now: clock, reuseMs: 10_000 });
    const first = signer.sign(KEY, identity)!;
    now += 9_999;
    expect(signer.sign(KEY, identity)).toBe(first);
    now += 1;
    const second = signer.sign(KEY, identity)!;
    expect(second).not.toBe(first);
    expect(decodeJwt(second).iat).toBe(Math.floor(now / 1000));
    await jwtVerify(second, new TextEncoder().encode(KEY), { issuer: "agentgate", audience: "langgraph", currentDate: new Date(now) });
  });

  test("a reused assertion always has at least lifetime − window left when it is sent", () => {
    const signer = new AssertionSigner({ now: clock, reuseMs: 10_000 });
    const signedAt = now;
    const token = signer.sign(KEY, identity)!;
    for (let step = 0; step < 10_000; step += 997) {
      now = signedAt + step;
      const sent = signer.sign(KEY, identity)!;
      expect(sent).toBe(token);
      expect(decodeJwt(sent).exp! * 1000 - now).toBeGreaterThanOrEqual(50_000 - 1000); // iat is floored to the second
    }
  });

  test("another identity, another assertion key, or a clock that went back: signed afresh", () => {
    const signer = new AssertionSigner({ now: clock });
    const alice = signer.sign(KEY, identity)!;
    const bob = { ...identity, subject: "bob" };
    expect(decodeJwt(signer.sign(KEY, bob)!).sub).toBe("bob");
    const rotated = signer.sign("rotated-key-0123456789", identity)!;
    expect(rotated).not.toBe(alice);
    expect(signer.sign(KEY, identity)).not.toBe(rotated);
    now -= 5_000;
    expect(decodeJwt(signer.sign(KEY, identity)!).iat).toBe(Math.floor(now / 1000));
  });

  test("the reuse window is capped at half the lifetime", () => {
    const signer = new AssertionSigner({ now: clock, reuseMs: 3_600_000 });
    const first = signer.sign(KEY, identity)!;
    now += 29_000;
    expect(signer.sign(KEY, identity)).toBe(first);
    now += 1_000;
    expect(signer.sign(KEY, identity)).not.toBe(first);
  });

  test("the cache is bounded: the least recently used identity is signed afresh", () => {
    const signer = new AssertionSigner({ now: clock, max: 2 });
    const a = signer.sign(KEY, identity)!;
    const carol = { ...identity, subject: "carol" };
    signer.sign(KEY, { ...identity, subject: "bob" });
    const c = signer.sign(KEY, carol)!; // evicts alice
    now += 1_000; // a new iat: a fresh signature differs from the old one
    expect(signer.sign(KEY, carol)).toBe(c);
    expect(signer.sign(KEY, identity)).not.toBe(a);
  });
});
