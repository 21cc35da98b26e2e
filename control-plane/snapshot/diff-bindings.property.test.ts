import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { RoleBindingSchema, type RoleBinding } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { bindingResourceKey, diffBindings } from "./incremental.js";

/**
 * diffBindings keeps nested sets of the bindings' strings instead of one key per binding
 * (speed, issue 18); it must answer exactly as the definition — differences by resource key —
 * including duplicates, a group and a subject of the same name, several roles and issuers,
 * and malformed bindings naming both or neither.
 */
const binding = fc
  .record({
    role: fc.constantFrom("r1", "r2"),
    issuer: fc.constantFrom("https://a", "https://b", ""),
    group: fc.constantFrom("", "x", "y"),
    subject: fc.constantFrom("", "x", "z"),
  })
  .map((b) => create(RoleBindingSchema, b));

function reference(before: readonly RoleBinding[], after: readonly RoleBinding[]): { added: string[]; removed: string[] } {
  const old = new Set(before.map(bindingResourceKey));
  const now = new Set(after.map(bindingResourceKey));
  return {
    added: after.filter((b) => !old.has(bindingResourceKey(b))).map(bindingResourceKey),
    removed: before.filter((b) => !now.has(bindingResourceKey(b))).map(bindingResourceKey),
  };
}

test("diffBindings finds exactly the differences by resource key", () => {
  fc.assert(
    fc.property(fc.array(binding, { maxLength: 15 }), fc.array(binding, { maxLength: 15 }), (before, after) => {
      const added: RoleBinding[] = [];
      const removed: RoleBinding[] = [];
      diffBindings(before, after, added, removed);
      expect({ added: added.map(bindingResourceKey), removed: removed.map(bindingResourceKey) }).toEqual(reference(before, after));
    }),
    { numRuns: 1_000 },
  );
});
