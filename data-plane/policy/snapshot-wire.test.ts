import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RoleBindingSchema, SnapshotSchema, type RoleBinding } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { decodeSnapshot, wireBindingsOf } from "./snapshot-wire.js";
import { SnapshotStore } from "./snapshot-store.js";
import { proxyStateCompiler } from "./proxy-state.js";

const ISSUER = "https://idp.example";
const group = (role: string, g: string) => create(RoleBindingSchema, { role, issuer: ISSUER, group: g });
const message = (version: number, added: RoleBinding[], removed: RoleBinding[] = [], baseVersion = 0) =>
  create(SnapshotSchema, {
    version: BigInt(version),
    baseVersion: BigInt(baseVersion),
    connections: [{ id: "c1", name: "c1", baseUrl: "http://upstream", credential: "sk" }],
    policies: [{ id: "p1", name: "p1", role: "r1", connectionId: "c1", graphs: ["*"], operations: ["*"] }],
    assertionKey: "k",
    roleBindings: added,
    removedRoleBindings: removed,
  });

test("a lazily decoded snapshot is the same message: the rest decoded, the bindings on the wire in order", () => {
  const full = message(7, [group("r1", "a"), group("r2", "b"), group("r1", "c")], [group("r3", "z")], 6);
  const bytes = toBinary(SnapshotSchema, full);
  const lazy = decodeSnapshot(bytes, 0);
  const wire = wireBindingsOf(lazy)!;
  expect(lazy.roleBindings).toEqual([]); // nothing materialised
  expect(equals(SnapshotSchema, create(SnapshotSchema, { ...lazy, roleBindings: [...wire.added()], removedRoleBindings: [...wire.removed()] }), full)).toBe(true);
  expect(wire.bytes).toBe(bytes);
  // Small messages are decoded as usual.
  const eager = decodeSnapshot(bytes);
  expect(wireBindingsOf(eager)).toBeUndefined();
  expect(equals(SnapshotSchema, eager, fromBinary(SnapshotSchema, bytes))).toBe(true);
});

test("the store applies lazily decoded full snapshots and deltas, journals the delta's bytes, and a restart restores the same bindings", async () => {
  const dir = await mkdtemp(join(tmpdir(), "agentgate-wire-"));
  try {
    const diskPath = join(dir, "snapshot.bin");
    const lazily = (m: ReturnType<typeof message>) => decodeSnapshot(toBinary(SnapshotSchema, m), 0);
    const store = new SnapshotStore({ compile: proxyStateCompiler({ allowHttp: "loopback" }), diskPath });
    const many = Array.from({ length: 2_000 }, (_, i) => group("r1", `g${i}`));
    await store.apply(lazily(message(1, many)));
    await store.apply(lazily(message(2, [group("r2", "g1"), group("r1", "new")], [group("r1", "g0")], 1)));
    const roles = (s: SnapshotStore<ReturnType<ReturnType<typeof proxyStateCompiler>>>, g: string) => s.current()!.compiled.policy.bindings.roles("group", ISSUER, g);
    expect([roles(store, "g0"), roles(store, "g1"), roles(store, "new"), roles(store, "g1999")]).toEqual([undefined, ["r1", "r2"], ["r1"], ["r1"]]);
    expect(store.current()!.compiled.policy.bindings.size).toBe(2_001);
    const restarted = new SnapshotStore({ compile: proxyStateCompiler({ allowHttp: "loopback" }), diskPath });
    expect(await restarted.loadFromDisk()).toEqual({ kind: "loaded", version: 2n, warnings: [] });
    expect([roles(restarted, "g0"), roles(restarted, "g1"), roles(restarted, "new")]).toEqual([undefined, ["r1", "r2"], ["r1"]]);
    expect(restarted.current()!.compiled.policy.bindings.size).toBe(2_001);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
