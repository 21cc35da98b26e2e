import { jwtVerify } from "jose";
import { signAssertion } from "./assertion.js";

const identity = { providerId: "p", issuer: "https://idp.example", subject: "alice", email: "a@example.com", groups: ["eng"], expiresAt: 0, claims: {} };

test("the assertion is a standard HS256 JWT that jose verifies with the assertion key", async () => {
  const token = signAssertion("assertion-key-0123456789", identity, "req-1")!;
  const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode("assertion-key-0123456789"), { issuer: "agentgate", audience: "langgraph", algorithms: ["HS256"] });
  expect(protectedHeader.alg).toBe("HS256");
  expect(payload).toMatchObject({ sub: "alice", idp: "https://idp.example", email: "a@example.com", groups: ["eng"], rid: "req-1" });
  expect(payload.exp! - payload.iat!).toBe(60);
});

test("a wrong key does not verify, and no key means no assertion", async () => {
  const token = signAssertion("assertion-key-0123456789", identity, "req-1")!;
  await expect(jwtVerify(token, new TextEncoder().encode("another-key-0123456789"))).rejects.toThrow();
  expect(signAssertion("", identity, "req-1")).toBeUndefined();
});
