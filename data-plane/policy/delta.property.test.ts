import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { RoleBindingSchema, SnapshotSchema, type RoleBinding, type Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { DeltaHistory } from "../../control-plane/snapshot/delta-history.js";
import { diffBindings } from "../../control-plane/snapshot/incremental.js";
import { compilePolicy } from "./compile.js";
import { proxyStateCompiler } from "./proxy-state.js";
import { DeltaBaseMismatchError, SnapshotStore } from "./snapshot-store.js";

/**
 * Issue 18's property: a proxy that applies deltas — one per version, or composed from any
 * earlier version it was at — ends in the same compiled state as one that compiles the full
 * snapshot of that version. Bindings come from a small universe so changes collide often
 * (the same key in several roles, removed and re-added, roles renamed away).
 */
const ISSUERS = ["https://a.example", "https://b.example"];
const binding = fc
  .record({ role: fc.constantFrom("r1", "r2", "r3"), issuer: fc.constantFrom(...ISSUERS), name: fc.constantFrom("g1", "g2", "g3", "u1", "u2"), kind: fc.constantFrom("group", "subject") })
  .map((b) => create(RoleBindingSchema, b.kind === "group" ? { role: b.role, issuer: b.issuer, group: b.name } : { role: b.role, issuer: b.issuer, subject: b.name }));
/** One version's bindings: a set (the control plane never holds the same resource twice). */
const bindingSet = fc.array(binding, { maxLength: 12 }).map((list) => [...new Map(list.map((b) => [JSON.stringify([b.role, b.issuer, b.group, b.subject]), b])).values()]);

const full = (version: number, roleBindings: RoleBinding[]): Snapshot =>
  create(SnapshotSchema, {
    version: BigInt(version),
    connections: [{ id: "c1", name: "c1", baseUrl: "http://upstream" }],
    policies: [{ id: "p1", name: "p1", role: "r1", connectionId: "c1", graphs: ["*"], operations: ["*"] }],
    assertionKey: "k",
    roleBindings,
  });

/** Everything the evaluator can read about roles, for every key of the universe. */
function roleView(policy: ReturnType<typeof compilePolicy>): Record<string, string[]> {
  const view: Record<string, string[]> = {};
  for (const issuer of ISSUERS) {
    for (const name of ["g1", "g2", "g3", "u1", "u2"]) {
      const key = `${issuer}\u0000${name}`;
      view[`group ${key}`] = [...(policy.bindings.roles("group", issuer, name) ?? [])].sort();
      view[`subject ${key}`] = [...(policy.bindings.roles("subject", issuer, name) ?? [])].sort();
    }
  }
  return view;
}


let dir: string;
let runs = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "agentgate-delta-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("deltas applied in order (or composed from any earlier version) compile to the full snapshot's state", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(bindingSet, { minLength: 2, maxLength: 8 }), fc.nat(), async (versions, pick) => {
      const history = new DeltaHistory();
      const snapshots = versions.map((set, i) => full(i + 1, set));
      const stepwise = new SnapshotStore({ compile: proxyStateCompiler({ allowHttp: "loopback" }) });
      await stepwise.apply(snapshots[0]!);
      // A proxy that fell behind at some earlier version and catches up with one composed delta.
      const diskPath = join(dir, `laggard-${runs++}.pb`);
      const laggard = new SnapshotStore({ compile: proxyStateCompiler({ allowHttp: "loopback" }), diskPath });
      const lagAt = pick % (snapshots.length - 1);
      for (let i = 1; i < snapshots.length; i++) {
        const added: RoleBinding[] = [];
        const removed: RoleBinding[] = [];
        diffBindings(snapshots[i - 1]!.roleBindings, snapshots[i]!.roleBindings, added, removed);
        history.record(snapshots[i]!.version, { baseVersion: snapshots[i - 1]!.version, added, removed });
        if (i - 1 === lagAt) await laggard.apply(snapshots[i - 1]!);
        const step = history.deltaMessage(snapshots[i - 1]!.version, snapshots[i]!) ?? snapshots[i]!;
        expect((await stepwise.apply(step)).kind).toBe("applied");
        const expected = roleView(compilePolicy(snapshots[i]!));
        expect(roleView(stepwise.current()!.compiled.policy)).toEqual(expected);
      }
      const last = snapshots.at(-1)!;
      const catchUp = history.deltaMessage(snapshots[lagAt]!.version, last) ?? last;
      expect((await laggard.apply(catchUp)).kind).toBe("applied");
      expect(roleView(laggard.current()!.compiled.policy)).toEqual(roleView(compilePolicy(last)));
      // The disk copy (a complete base, plus the journal of deltas since) restores the same state.
      const restarted = new SnapshotStore({ compile: proxyStateCompiler({ allowHttp: "loopback" }), diskPath });
      expect(await restarted.loadFromDisk()).toMatchObject({ kind: "loaded", version: last.version });
      expect(roleView(restarted.current()!.compiled.policy)).toEqual(roleView(compilePolicy(last)));
      expect(fromBinary(SnapshotSchema, await readFile(diskPath)).baseVersion).toBe(0n); // the base is never a delta
    }),
    { numRuns: 200 },
  );
});

test("a delta applies only on top of its base version; a rejected one changes nothing", async () => {
  const compile = proxyStateCompiler({ allowHttp: "loopback" });
  const store = new SnapshotStore({ compile });
  const b = (group: string) => create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[0]!, group });
  await store.apply(full(1, [b("g1")]));
  const delta = (base: number, version: number, added: RoleBinding[], removed: RoleBinding[] = []) =>
    create(SnapshotSchema, { ...full(version, added), baseVersion: BigInt(base), removedRoleBindings: removed });
  await expect(store.apply(delta(5, 6, [b("g2")]))).rejects.toBeInstanceOf(DeltaBaseMismatchError);
  // Invalid (a binding with neither group nor subject): rejected, and the bindings in force are untouched.
  await expect(store.apply(delta(1, 2, [b("g2"), create(RoleBindingSchema, { role: "r1", issuer: ISSUERS[0]! })], [b("g1")]))).rejects.toThrow(/neither group nor subject/);
  expect(store.current()!.version).toBe(1n);
  await store.apply(delta(1, 3, [b("g3")]));
  const policy = store.current()!.compiled.policy;
  expect(["g1", "g2", "g3"].map((g) => policy.bindings.roles("group", ISSUERS[0]!, g))).toEqual([["r1"], undefined, ["r1"]]);
});
