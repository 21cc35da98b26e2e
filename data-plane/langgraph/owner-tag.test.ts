import { randomBytes } from "node:crypto";
import fc from "fast-check";
import type { CompiledPolicy, GatewayKeyEntry } from "../policy/compiled-policy.js";
import { ownerTagsFor, OWNER_TAG_PURPOSE } from "./owner-tag.js";

const key = (id: string): GatewayKeyEntry => ({ id, key: randomBytes(32) });
const policyWith = (keys: GatewayKeyEntry[] | undefined) =>
  ({ gatewayKeys: new Map(keys ? [[OWNER_TAG_PURPOSE, keys]] : []) }) as unknown as CompiledPolicy;

test("a rotation keeps old tags valid and writes the newest", () => {
  const k1 = key("k1");
  const k2 = key("k2");
  const before = ownerTagsFor(policyWith([k1]), "https://idp", "alice")!;
  const after = ownerTagsFor(policyWith([k2, k1]), "https://idp", "alice")!;
  expect(before.current).toMatch(/^k1\.[0-9a-f]{32}$/);
  expect(after.current).toMatch(/^k2\./);
  expect(after.owns(before.current)).toBe(true);
  expect(after.owns(after.current)).toBe(true);
  // Once the old generation is dropped from the snapshot, its tags stop verifying.
  expect(ownerTagsFor(policyWith([k2]), "https://idp", "alice")!.owns(before.current)).toBe(false);
});

test("no owner-tag key in the snapshot: no tags (callers fail closed)", () => {
  expect(ownerTagsFor(policyWith(undefined), "i", "s")).toBeUndefined();
  expect(ownerTagsFor(policyWith([]), "i", "s")).toBeUndefined();
});

test("property: another identity's tag, a tag under another key or any altered tag is never owned", () => {
  const policy = policyWith([key("k2"), key("k1")]);
  const other = policyWith([key("k2"), key("k1")]);
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), fc.string({ minLength: 1 }), (iss, sub, sub2, junk) => {
      fc.pre(sub !== sub2);
      const mine = ownerTagsFor(policy, iss, sub)!;
      const theirs = ownerTagsFor(policy, iss, sub2)!;
      expect(mine.owns(mine.current)).toBe(true);
      expect(mine.owns(theirs.current)).toBe(false);
      expect(mine.owns(ownerTagsFor(other, iss, sub)!.current)).toBe(false); // same id, other secret
      expect(mine.owns(mine.current + junk)).toBe(false);
      expect(mine.owns(junk)).toBe(false);
      // The issuer/subject boundary is part of the MAC input: ("a", "\0b") ≠ ("a\0", "b").
      expect(ownerTagsFor(policy, iss + "\u0000", sub)!.owns(ownerTagsFor(policy, iss, "\u0000" + sub)!.current)).toBe(false);
    }),
  );
});

test("tags are computed once per identity and snapshot; a new snapshot (new keys) computes them afresh", () => {
  const k1 = key("k1");
  const policy = policyWith([k1]);
  const first = ownerTagsFor(policy, "https://idp", "alice")!;
  expect(ownerTagsFor(policy, "https://idp", "alice")).toBe(first);
  expect(ownerTagsFor(policy, "https://idp", "bob")).not.toBe(first);
  // Same key id, another secret in a newer snapshot: the cached tag of the old one is not reused.
  const rotated = ownerTagsFor(policyWith([{ id: "k1", key: randomBytes(32) }]), "https://idp", "alice")!;
  expect(rotated.current).not.toBe(first.current);
  expect(rotated.owns(first.current)).toBe(false);
});

test("past the cache bound, tags are still right (the cache starts over)", () => {
  const policy = policyWith([key("k1")]);
  const alice = ownerTagsFor(policy, "i", "alice")!.current;
  for (let n = 0; n < 10_050; n++) ownerTagsFor(policy, "i", `user-${n}`);
  const again = ownerTagsFor(policy, "i", "alice")!;
  expect(again.current).toBe(alice);
  expect(again.owns(alice)).toBe(true);
  expect(again.owns(ownerTagsFor(policy, "i", "user-3")!.current)).toBe(false);
});
