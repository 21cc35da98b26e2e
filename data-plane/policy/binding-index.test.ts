import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { RoleBindingSchema, type RoleBinding } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { BindingIndex } from "./binding-index.js";

/**
 * The index is the only copy of a proxy's bindings (issue 18), so it must behave exactly as
 * the set of bindings it stands for, through any sequence of deltas — including re-adding
 * what is there, removing what is not, and enough changes to fold the overlay into a new base.
 */
const ISSUERS = ["https://a.example", "https://b.example", "https://c.example"];
const NAMES = ["g1", "g2", "u1", "u2"];
const ROLES = ["r1", "r2", "r3"];
const binding = fc
  .record({ role: fc.constantFrom(...ROLES), issuer: fc.constantFrom(...ISSUERS), name: fc.constantFrom(...NAMES), group: fc.boolean() })
  .map((b) => create(RoleBindingSchema, b.group ? { role: b.role, issuer: b.issuer, group: b.name } : { role: b.role, issuer: b.issuer, subject: b.name }));
const idOf = (b: Pick<RoleBinding, "role" | "issuer" | "group" | "subject">) => JSON.stringify([b.role, b.issuer, b.group, b.subject]);

/** What the index answers for every lookup of the universe, and its listed bindings. */
function observe(index: BindingIndex): { lookups: Record<string, string[]>; listed: string[] } {
  const lookups: Record<string, string[]> = {};
  for (const issuer of ISSUERS)
    for (const name of NAMES)
      for (const kind of ["group", "subject"] as const) lookups[`${kind} ${issuer} ${name}`] = [...(index.roles(kind, issuer, name) ?? [])].sort();
  return { lookups, listed: [...index.bindings()].map(idOf).sort() };
}

/** The same view computed from a plain set of bindings. */
function model(set: Map<string, RoleBinding>): { lookups: Record<string, string[]>; listed: string[] } {
  const lookups: Record<string, string[]> = {};
  for (const issuer of ISSUERS)
    for (const name of NAMES)
      for (const kind of ["group", "subject"] as const)
        lookups[`${kind} ${issuer} ${name}`] = [...set.values()].filter((b) => b.issuer === issuer && b[kind] === name).map((b) => b.role).sort();
  return { lookups, listed: [...set.keys()].sort() };
}

test("through any sequence of deltas the index answers as the set of bindings it stands for", () => {
  const step = fc.record({ added: fc.array(binding, { maxLength: 8 }), removed: fc.array(binding, { maxLength: 8 }) });
  fc.assert(
    // overlayLimit: small limits make edits switch to copying scope maps mid-way (the large-delta mode).
    fc.property(fc.array(binding, { maxLength: 10 }), fc.array(step, { maxLength: 10 }), fc.option(fc.integer({ min: 0, max: 6 })), (initial, steps, limit) => {
      const set = new Map(initial.map((b) => [idOf(b), b]));
      let index = BindingIndex.of(initial, []);
      expect(observe(index)).toEqual(model(set));
      for (const { added, removed } of steps) {
        const before = observe(index);
        const previous = index;
        index = index.with(added, removed, [], limit ?? undefined);
        for (const b of removed) set.delete(idOf(b));
        for (const b of added) set.set(idOf(b), b);
        expect(observe(index)).toEqual(model(set));
        expect(observe(previous)).toEqual(before); // immutable: the index in force until the swap is untouched
        expect(index.size).toBe(set.size);
      }
    }),
    { numRuns: 300 },
  );
});

test("a change larger than the overlay bound folds into a new base with the same answers", () => {
  const many = (from: number, n: number) => Array.from({ length: n }, (_, i) => create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[0]!, group: `g-${from + i}` }));
  let index = BindingIndex.of(many(0, 10), []);
  index = index.with(many(10, 5_000), many(0, 5), []);
  index = index.with([create(RoleBindingSchema, { role: "r2", issuer: ISSUERS[0]!, group: "g-7" })], many(9, 1), []);
  expect(index.size).toBe(10 + 5_000 - 5 - 1 + 1);
  expect(index.roles("group", ISSUERS[0]!, "g-0")).toBeUndefined();
  expect(index.roles("group", ISSUERS[0]!, "g-7")).toEqual(["r1", "r2"]);
  expect(index.roles("group", ISSUERS[0]!, "g-5009")).toEqual(["r1"]);
  expect(index.roles("group", ISSUERS[1]!, "g-5009")).toBeUndefined();
});

test("compact: keys bound to the same roles share one role list; invalid bindings are reported, not indexed", () => {
  const problems: string[] = [];
  const index = BindingIndex.of(
    [
      create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[0]!, group: "g1" }),
      create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[1]!, subject: "u1" }),
      create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[0]! }),
    ],
    problems,
  );
  expect(index.roles("group", ISSUERS[0]!, "g1")).toBe(index.roles("subject", ISSUERS[1]!, "u1"));
  expect(Object.isFrozen(index.roles("group", ISSUERS[0]!, "g1"))).toBe(true);
  expect(problems).toEqual(["role binding for r1 has neither group nor subject"]);
  expect(index.size).toBe(2);
  // A group and a subject of the same name are different keys.
  expect(index.roles("subject", ISSUERS[0]!, "g1")).toBeUndefined();
});
