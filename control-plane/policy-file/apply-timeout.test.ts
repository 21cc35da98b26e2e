import { applyTimeoutMs } from "./apply.js";
import type { PolicyDocument } from "./document.js";

const doc = (bindings: number): PolicyDocument => ({
  identityProviders: [],
  connections: [],
  maskingProfiles: [],
  policies: [],
  roles: [{ name: "bulk", bindings: Array.from({ length: bindings }, (_, i) => ({ issuer: "https://idp.example", group: `g${i}` })) }],
});

test("the apply deadline grows with the bindings removed as well as those written (emptying a 500,000-binding role)", () => {
  expect(applyTimeoutMs(doc(0), 500_000)).toBe(applyTimeoutMs(doc(500_000)));
  expect(applyTimeoutMs(doc(0), 500_000)).toBeGreaterThan(applyTimeoutMs(doc(0)) + 900_000);
});
