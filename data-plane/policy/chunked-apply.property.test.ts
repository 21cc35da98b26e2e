import { setImmediate as nextTurn } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { RoleBindingSchema, SnapshotSchema, type RoleBinding, type Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { SnapshotInvalidError } from "./compile.js";
import type { BindingIndex } from "./binding-index.js";
import { SnapshotStore } from "./snapshot-store.js";

/**
 * Issue 18: a large snapshot is indexed in chunks with the event loop yielding between them.
 * Whatever runs in between (a request) must see the last good snapshot or the new one, each
 * whole — never a half-built index, never the new version with old bindings. Checked by
 * observing the store at every turn of the event loop while random sequences of full
 * snapshots and deltas (some invalid) apply, in chunks of 1–4 bindings.
 */
const ISSUERS = ["https://a.example", "https://b.example"];
const NAMES = ["g1", "g2", "g3", "u1", "u2"];
const binding = fc
  .record({ role: fc.constantFrom("r1", "r2"), issuer: fc.constantFrom(...ISSUERS), name: fc.constantFrom(...NAMES), kind: fc.constantFrom("group", "subject") })
  .map((b) => create(RoleBindingSchema, b.kind === "group" ? { role: b.role, issuer: b.issuer, group: b.name } : { role: b.role, issuer: b.issuer, subject: b.name }));
const idOf = (b: Pick<RoleBinding, "role" | "issuer" | "group" | "subject">) => JSON.stringify([b.role, b.issuer, b.group, b.subject]);
/** Neither group nor subject: the whole snapshot is rejected (placed last, after the valid chunks were indexed). */
const invalid = create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[0]! });

/** Every lookup of the universe, as the compiled index answers it. */
function view(index: BindingIndex): string {
  const out: string[] = [];
  for (const issuer of ISSUERS)
    for (const name of NAMES)
      for (const kind of ["group", "subject"] as const) out.push(`${kind}:${issuer}:${name}=${[...(index.roles(kind, issuer, name) ?? [])].sort().join(",")}`);
  return out.join(" ");
}

/** The same lookups from a plain set of bindings. */
function modelView(set: ReadonlyMap<string, RoleBinding>): string {
  const out: string[] = [];
  for (const issuer of ISSUERS)
    for (const name of NAMES)
      for (const kind of ["group", "subject"] as const)
        out.push(`${kind}:${issuer}:${name}=${[...set.values()].filter((b) => b.issuer === issuer && b[kind] === name).map((b) => b.role).sort().join(",")}`);
  return out.join(" ");
}

const step = fc.record({
  full: fc.boolean(),
  added: fc.array(binding, { maxLength: 10 }),
  removed: fc.array(binding, { maxLength: 6 }),
  bad: fc.boolean(),
});

test("while a snapshot is indexed in chunks, every turn of the event loop sees a whole snapshot: the last good one or the new one", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(binding, { maxLength: 10 }), fc.array(step, { minLength: 1, maxLength: 6 }), async (chunk, initial, steps) => {
      const store = new SnapshotStore({ compile: (s: Snapshot, bindings: BindingIndex) => ({ version: s.version, bindings }), indexChunk: chunk });
      // What each version in force must answer.
      const expected = new Map<bigint, string>();
      let set = new Map(initial.map((b) => [idOf(b), b]));
      await store.apply(create(SnapshotSchema, { version: 1n, roleBindings: initial }));
      expected.set(1n, modelView(set));
      let inForce = 1n;
      let observations = 0;

      for (const [i, s] of steps.entries()) {
        const version = BigInt(i + 2);
        const next = new Map(s.full ? [] : set);
        if (!s.full) for (const b of s.removed) next.delete(idOf(b));
        for (const b of s.added) next.set(idOf(b), b);
        const message = create(SnapshotSchema, {
          version,
          baseVersion: s.full ? 0n : inForce,
          roleBindings: s.bad ? [...s.added, invalid] : s.added,
          removedRoleBindings: s.full ? [] : s.removed,
        });
        let done = false;
        const settled = store.apply(message).then(
          () => undefined,
          (e: unknown) => e,
        );
        void settled.finally(() => (done = true));
        // A "request" at every turn until the apply settles.
        while (!done) {
          const current = store.current()!;
          expect(current.compiled.version).toBe(current.version);
          expect(view(current.compiled.bindings)).toBe(expected.get(current.version));
          expect([inForce, version]).toContain(current.version);
          observations += 1;
          await nextTurn();
        }
        const error = await settled;
        if (s.bad) {
          expect(error).toBeInstanceOf(SnapshotInvalidError);
          expect(store.current()!.version).toBe(inForce); // the last good one stays
        } else {
          expect(error).toBeUndefined();
          set = next;
          inForce = version;
          expected.set(version, modelView(set));
        }
        expect(view(store.current()!.compiled.bindings)).toBe(expected.get(inForce));
      }
      expect(observations).toBeGreaterThan(0);
    }),
    { numRuns: 150 },
  );
});

test("a large snapshot yields to the event loop while it is indexed, serving the last good one meanwhile", async () => {
  const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[0]!, group: `${prefix}-${i}` }));
  const store = new SnapshotStore({ compile: (s: Snapshot, bindings: BindingIndex) => ({ version: s.version, bindings }), indexChunk: 100 });
  await store.apply(create(SnapshotSchema, { version: 1n, roleBindings: many(10, "old") }));
  let done = false;
  const applying = store.apply(create(SnapshotSchema, { version: 2n, roleBindings: many(1_000, "new") })).finally(() => (done = true));
  const seen: bigint[] = [];
  while (!done) {
    const current = store.current()!;
    seen.push(current.version);
    // Whole: the old version answers for its own bindings and knows nothing of the new ones.
    if (current.version === 1n) {
      expect(current.compiled.bindings.roles("group", ISSUERS[0]!, "old-9")).toEqual(["r1"]);
      expect(current.compiled.bindings.roles("group", ISSUERS[0]!, "new-0")).toBeUndefined();
    }
    await nextTurn();
  }
  await applying;
  expect(seen.filter((v) => v === 1n).length).toBeGreaterThanOrEqual(5); // 1,000 bindings / 100 per chunk: turns in between
  expect(store.current()!.version).toBe(2n);
  expect(store.current()!.compiled.bindings.roles("group", ISSUERS[0]!, "new-999")).toEqual(["r1"]);
  expect(store.current()!.compiled.bindings.roles("group", ISSUERS[0]!, "old-9")).toBeUndefined();
});

test("applies queue: a delta sent while a full snapshot is still being indexed applies on top of it", async () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[0]!, group: `g-${i}` }));
  const store = new SnapshotStore({ compile: (s: Snapshot, bindings: BindingIndex) => ({ version: s.version, bindings }), indexChunk: 10 });
  const full = store.apply(create(SnapshotSchema, { version: 1n, roleBindings: many(200) }));
  const delta = store.apply(create(SnapshotSchema, { version: 2n, baseVersion: 1n, removedRoleBindings: many(1) }));
  expect(await full).toMatchObject({ kind: "applied", version: 1n });
  expect(await delta).toMatchObject({ kind: "applied", version: 2n });
  expect(store.current()!.compiled.bindings.roles("group", ISSUERS[0]!, "g-0")).toBeUndefined();
  expect(store.current()!.compiled.bindings.size).toBe(199);
});
