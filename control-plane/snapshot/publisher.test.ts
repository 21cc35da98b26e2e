import { create } from "@bufbuild/protobuf";
import { RoleBindingSchema, SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { SnapshotPublisher } from "./publisher.js";

const snap = (version: number): Snapshot => create(SnapshotSchema, { version: BigInt(version) });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A watcher whose sends complete only when the test says so (a slow proxy). */
function manualSink() {
  const sent: bigint[] = [];
  const pending: Array<() => void> = [];
  return {
    sent,
    send: (s: Snapshot) =>
      new Promise<void>((resolve) => {
        sent.push(s.version);
        pending.push(resolve);
      }),
    async release() {
      pending.shift()?.();
      await flush();
    },
  };
}

describe("SnapshotPublisher", () => {
  test("publish accepts only increasing versions", () => {
    const p = new SnapshotPublisher();
    expect(p.current()).toBeUndefined();
    expect(p.publish(snap(2))).toBe(true);
    expect(p.publish(snap(2))).toBe(false);
    expect(p.publish(snap(1))).toBe(false);
    expect(p.current()?.version).toBe(2n);
    expect(p.publish(snap(3))).toBe(true);
    expect(p.current()?.version).toBe(3n);
  });

  test("a new watcher gets the current snapshot, unless it already has that version", async () => {
    const p = new SnapshotPublisher(snap(5));
    const behind: bigint[] = [];
    const upToDate: bigint[] = [];
    const ahead: bigint[] = [];
    p.watch({ lastVersion: 0n, send: async (s) => void behind.push(s.version) });
    p.watch({ lastVersion: 5n, send: async (s) => void upToDate.push(s.version) });
    // Versions are compared for equality, like go-control-plane: the proxy decides what is newer.
    p.watch({ lastVersion: 9n, send: async (s) => void ahead.push(s.version) });
    await flush();
    expect(behind).toEqual([5n]);
    expect(upToDate).toEqual([]);
    expect(ahead).toEqual([5n]);
    p.publish(snap(6));
    await flush();
    expect([behind, upToDate, ahead]).toEqual([[5n, 6n], [6n], [5n, 6n]]);
  });

  test("before any publish a watcher waits, then gets the first snapshot", async () => {
    const p = new SnapshotPublisher();
    const got: bigint[] = [];
    p.watch({ lastVersion: 0n, send: async (s) => void got.push(s.version) });
    await flush();
    expect(got).toEqual([]);
    p.publish(snap(1));
    await flush();
    expect(got).toEqual([1n]);
  });

  test("a busy watcher gets only the newest version when it frees up, never a queue", async () => {
    const p = new SnapshotPublisher(snap(1));
    const slow = manualSink();
    const fast: bigint[] = [];
    p.watch({ lastVersion: 0n, send: slow.send });
    p.watch({ lastVersion: 0n, send: async (s) => void fast.push(s.version) });
    for (let v = 2; v <= 100; v++) {
      p.publish(snap(v));
      if (v % 10 === 0) await flush();
    }
    await flush();
    expect(slow.sent).toEqual([1n]); // still busy with v1
    await slow.release();
    expect(slow.sent).toEqual([1n, 100n]);
    await slow.release();
    expect(slow.sent).toEqual([1n, 100n]); // nothing newer: idle
    expect(fast.at(-1)).toBe(100n);
    expect(fast.length).toBeLessThan(100);
  });

  test("unwatch stops deliveries; a failing send drops the watcher and reports once", async () => {
    const p = new SnapshotPublisher(snap(1));
    const got: bigint[] = [];
    const unwatch = p.watch({ lastVersion: 0n, send: async (s) => void got.push(s.version) });
    const errors: unknown[] = [];
    p.watch({
      lastVersion: 0n,
      send: () => {
        throw new Error("stream gone");
      },
      onError: (e) => errors.push(e),
    });
    await flush();
    expect(p.watcherCount).toBe(1);
    expect(errors).toHaveLength(1);
    unwatch();
    p.publish(snap(2));
    await flush();
    expect(got).toEqual([1n]);
    expect(p.watcherCount).toBe(0);
  });
});

describe("SnapshotPublisher deltas (issue 18)", () => {
  const b = (group: string) => create(RoleBindingSchema, { role: "r", issuer: "https://idp.example", group });
  const withBindings = (version: number, groups: string[]) => create(SnapshotSchema, { version: BigInt(version), roleBindings: groups.map(b) });
  const delta = (base: number, added: string[], removed: string[]) => ({ baseVersion: BigInt(base), added: added.map(b), removed: removed.map(b) });
  const describeMessage = (s: Snapshot) => ({ version: s.version, base: s.baseVersion, added: s.roleBindings.map((x) => x.group), removed: s.removedRoleBindings.map((x) => x.group) });

  test("a watcher that accepts deltas gets what changed since ITS version; others, first connects and the too-far-behind get full snapshots", async () => {
    const p = new SnapshotPublisher();
    const all = Array.from({ length: 10 }, (_, i) => `g${i}`);
    p.publish(withBindings(1, all));
    p.publish(withBindings(2, [...all, "new"]), delta(1, ["new"], []));
    p.publish(withBindings(3, [...all.slice(1), "new"]), delta(2, [], ["g0"]));
    const got: Snapshot[] = [];
    const send = async (s: Snapshot) => void got.push(s);
    p.watch({ lastVersion: 1n, acceptsDelta: true, send });
    p.watch({ lastVersion: 2n, acceptsDelta: true, send });
    p.watch({ lastVersion: 1n, send }); // does not accept deltas
    p.watch({ lastVersion: 0n, acceptsDelta: true, send }); // first connect
    p.watch({ lastVersion: 7n, acceptsDelta: true, send }); // a version this history never had
    await flush();
    expect(got.map(describeMessage)).toEqual([
      { version: 3n, base: 1n, added: ["new"], removed: ["g0"] },
      { version: 3n, base: 2n, added: [], removed: ["g0"] },
      ...[0, 1, 2].map(() => ({ version: 3n, base: 0n, added: [...all.slice(1), "new"], removed: [] })),
    ]);
    // A published version without a delta breaks the chain: everyone gets the full snapshot after it.
    got.length = 0;
    p.publish(withBindings(4, ["x"]));
    p.publish(withBindings(5, ["x", "y"]), delta(4, ["y"], []));
    await flush();
    const fives = got.filter((s) => s.version === 5n);
    expect(fives.map((s) => s.baseVersion)).toEqual([4n, 4n, 0n, 4n, 4n]);
    // Watchers at the same version get the same message object: made and encoded once for the fleet.
    const deltas = fives.filter((s) => s.baseVersion === 4n);
    expect(new Set(deltas).size).toBe(1);
  });
});
