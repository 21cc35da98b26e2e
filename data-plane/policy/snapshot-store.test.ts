import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, chmod, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RoleBindingSchema, SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { frameHeader } from "../recording/frame.js";
import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { LARGE_CHANGE_BINDINGS, SnapshotStore } from "./snapshot-store.js";
import { decodeSnapshot } from "./snapshot-wire.js";

/** A snapshot with an upstream credential; `bad` makes the test compiler throw. */
const snap = (version: number, bad = false): Snapshot =>
  create(SnapshotSchema, {
    version: BigInt(version),
    connections: [{ id: "c1", baseUrl: "http://upstream", credentialHeader: "x-api-key", credential: "sk-secret" }],
    assertionKey: bad ? "BAD" : "k",
  });

/** Stand-in for compilePolicy: a tiny compiled form, throwing like a validation failure. */
const compile = (s: Snapshot) => {
  if (s.assertionKey === "BAD") throw new Error("invalid snapshot: bad assertion key");
  return { connections: new Map(s.connections.map((c) => [c.id, c.baseUrl])) };
};

describe("SnapshotStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agentgate-store-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("apply compiles, swaps in whole, and notifies listeners", async () => {
    const store = new SnapshotStore({ compile });
    const seen: bigint[] = [];
    store.onChange((c) => seen.push(c.version));
    expect(store.current()).toBeUndefined();
    const outcome = await store.apply(snap(1));
    expect(outcome).toEqual({ kind: "applied", version: 1n, warnings: [] });
    const current = store.current();
    expect(current?.version).toBe(1n);
    expect(current?.compiled.connections.get("c1")).toBe("http://upstream");
    expect(Object.isFrozen(current)).toBe(true);
    expect(seen).toEqual([1n]);
  });

  test("versions are monotonic: older and equal snapshots are dropped as values", async () => {
    const store = new SnapshotStore({ compile });
    await store.apply(snap(5));
    const before = store.current();
    expect(await store.apply(snap(3))).toEqual({ kind: "stale", version: 3n, currentVersion: 5n });
    expect(await store.apply(snap(5))).toEqual({ kind: "stale", version: 5n, currentVersion: 5n });
    expect(store.current()).toBe(before);
  });

  test("a snapshot that fails to compile throws and the last good one stays (memory and disk)", async () => {
    const diskPath = join(dir, "snapshot.bin");
    const store = new SnapshotStore({ compile, diskPath });
    await store.apply(snap(1));
    const good = store.current();
    await expect(store.apply(snap(2, true))).rejects.toThrow(/bad assertion key/);
    expect(store.current()).toBe(good);
    expect(fromBinary(SnapshotSchema, await readFile(diskPath)).version).toBe(1n);
  });

  test("persists atomically with mode 0600 and a restarted store serves it from disk", async () => {
    const diskPath = join(dir, "nested", "state", "snapshot.bin");
    const first = new SnapshotStore({ compile, diskPath });
    await first.apply(snap(1));
    await first.apply(snap(7));
    expect((await stat(diskPath)).mode & 0o777).toBe(0o600);
    // No temp files left behind.
    expect(await readdir(join(dir, "nested", "state"))).toEqual(["snapshot.bin"]);

    // "Restart" while the control plane is down: a fresh store with the same path.
    const second = new SnapshotStore({ compile, diskPath });
    const seen: bigint[] = [];
    second.onChange((c) => seen.push(c.version));
    expect(await second.loadFromDisk()).toEqual({ kind: "loaded", version: 7n, warnings: [] });
    expect(second.current()?.version).toBe(7n);
    expect(second.current()?.compiled.connections.get("c1")).toBe("http://upstream");
    expect(seen).toEqual([7n]);
    // The loaded version is the floor for what comes from the network.
    expect((await second.apply(snap(6))).kind).toBe("stale");
  });

  test("concurrent applies leave the newest on disk", async () => {
    const diskPath = join(dir, "snapshot.bin");
    const store = new SnapshotStore({ compile, diskPath });
    await Promise.all([store.apply(snap(1)), store.apply(snap(2)), store.apply(snap(3))]);
    expect(fromBinary(SnapshotSchema, await readFile(diskPath)).version).toBe(3n);
    expect((await stat(diskPath)).mode & 0o777).toBe(0o600);
  });

  test("loadFromDisk reports problems as values and never throws", async () => {
    expect(await new SnapshotStore({ compile }).loadFromDisk()).toEqual({ kind: "disabled" });
    const diskPath = join(dir, "snapshot.bin");
    expect(await new SnapshotStore({ compile, diskPath }).loadFromDisk()).toEqual({ kind: "missing" });

    await writeFile(diskPath, Buffer.from([0xff, 0xff, 0xff]), { mode: 0o600 });
    const garbage = await new SnapshotStore({ compile, diskPath }).loadFromDisk();
    expect(garbage.kind).toBe("invalid");

    // A file written by an older build that no longer compiles: start empty, do not crash.
    const writer = new SnapshotStore({ compile: (s: Snapshot) => s.version, diskPath });
    await writer.apply(snap(3, true));
    const reader = new SnapshotStore({ compile, diskPath });
    expect(await reader.loadFromDisk()).toEqual({ kind: "invalid", error: "invalid snapshot: bad assertion key" });
    expect(reader.current()).toBeUndefined();
  });

  test("a world-readable file still loads, with a warning", async () => {
    const diskPath = join(dir, "snapshot.bin");
    await new SnapshotStore({ compile, diskPath }).apply(snap(2));
    await chmod(diskPath, 0o644);
    const outcome = await new SnapshotStore({ compile, diskPath }).loadFromDisk();
    expect(outcome).toMatchObject({ kind: "loaded", version: 2n });
    expect(outcome.kind === "loaded" && outcome.warnings[0]).toMatch(/readable by others/);
  });

  test("a disk failure does not undo the swap; it is a warning", async () => {
    // A directory where the file should be makes rename fail.
    const diskPath = join(dir, "occupied");
    await new SnapshotStore({ compile, diskPath: join(diskPath, "x") }).apply(snap(1)); // creates dir "occupied"
    const store = new SnapshotStore({ compile, diskPath });
    const outcome = await store.apply(snap(4));
    expect(outcome.kind).toBe("applied");
    expect(outcome.kind === "applied" && outcome.warnings[0]).toMatch(/not saved to disk/);
    expect(store.current()?.version).toBe(4n);
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  test("applyNow enforces before the disk write; until `saved` the disk holds the previous complete snapshot", async () => {
    const diskPath = join(dir, "snapshot.bin");
    const store = new SnapshotStore({ compile, diskPath });
    await store.apply(snap(1));
    const { outcome, saved } = await store.applyNow(snap(2));
    expect(outcome).toEqual({ kind: "applied", version: 2n, warnings: [] });
    expect(store.current()?.version).toBe(2n); // in force now
    expect(fromBinary(SnapshotSchema, readFileSync(diskPath)).version).toBe(1n); // a crash now restarts from 1, complete
    expect(await saved).toEqual([]);
    await store.flushed();
    expect(await new SnapshotStore({ compile, diskPath }).loadFromDisk()).toMatchObject({ kind: "loaded", version: 2n });
  });

  test("a full snapshot received large is saved as the bytes received, and loads back", async () => {
    const diskPath = join(dir, "snapshot.bin");
    const bytes = toBinary(SnapshotSchema, create(SnapshotSchema, { ...snap(3), roleBindings: ["a", "b"].map((group) => create(RoleBindingSchema, { role: "dev", issuer: "https://idp", group })) }));
    const store = new SnapshotStore({ compile, diskPath });
    await store.apply(decodeSnapshot(bytes, 0)); // lazily decoded: bindings left on the wire
    expect(await readFile(diskPath)).toEqual(Buffer.from(bytes));
    const restarted = new SnapshotStore({ compile, diskPath });
    expect(await restarted.loadFromDisk()).toEqual({ kind: "loaded", version: 3n, warnings: [] });
    expect(restarted.boundGroups().sort()).toEqual(["a", "b"]);
  });

  test("after a change of 100,000+ bindings is in force and saved, the large-change hook runs once (GC hint); not after small ones", async () => {
    const diskPath = join(dir, "snapshot.bin");
    const events: string[] = [];
    const store = new SnapshotStore({ compile, diskPath, afterLargeChange: () => events.push(`hook, disk has v${fromBinary(SnapshotSchema, readFileSync(diskPath)).version}`) });
    await store.apply(snap(1));
    const many = Array.from({ length: LARGE_CHANGE_BINDINGS }, (_, i) => create(RoleBindingSchema, { role: "dev", issuer: "https://idp", group: `g${i}` }));
    const { saved } = await store.applyNow(create(SnapshotSchema, { ...snap(2), roleBindings: many }));
    expect(events).toEqual([]); // not before the disk copy: what it holds is still alive
    await saved;
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(["hook, disk has v2"]);
    await store.apply(create(SnapshotSchema, { ...snap(3), baseVersion: 2n, removedRoleBindings: many.slice(0, 10) }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toHaveLength(1);
  });

  describe("disk copy: base + journal of deltas (issue 18: a change costs what it changed)", () => {
    const binding = (role: string, group: string) => create(RoleBindingSchema, { role, issuer: "https://idp", group });
    const withBindings = (version: number, groups: string[]): Snapshot => create(SnapshotSchema, { ...snap(version), roleBindings: groups.map((g) => binding("dev", g)) });
    const delta = (version: number, base: number, add: string[], remove: string[] = []): Snapshot =>
      create(SnapshotSchema, { ...snap(version), baseVersion: BigInt(base), roleBindings: add.map((g) => binding("dev", g)), removedRoleBindings: remove.map((g) => binding("dev", g)) });
    const groups = (store: { boundGroups(): string[] }) => store.boundGroups().sort();

    test("deltas are appended to the journal, the base file is untouched, and a restart replays them", async () => {
      const diskPath = join(dir, "snapshot.bin");
      const store = new SnapshotStore({ compile, diskPath });
      await store.apply(withBindings(1, ["a", "b", "c"]));
      const base = await readFile(diskPath);
      await store.apply(delta(2, 1, ["d"], ["a"]));
      await store.apply(delta(3, 2, ["e"]));
      expect(await readFile(diskPath)).toEqual(base); // O(change): the complete copy was not rewritten
      expect((await stat(`${diskPath}.journal`)).mode & 0o777).toBe(0o600);
      const restarted = new SnapshotStore({ compile, diskPath });
      expect(await restarted.loadFromDisk()).toEqual({ kind: "loaded", version: 3n, warnings: [] });
      expect(groups(restarted)).toEqual(["b", "c", "d", "e"]);
      expect(groups(restarted)).toEqual(groups(store));
    });

    test("a torn last frame or a break in the chain ends the replay there, and the journal is cut so later deltas continue it", async () => {
      const diskPath = join(dir, "snapshot.bin");
      const store = new SnapshotStore({ compile, diskPath });
      await store.apply(withBindings(1, ["a"]));
      await store.apply(delta(2, 1, ["b"]));
      const journal = `${diskPath}.journal`;
      const good = (await readFile(journal)).length;
      await writeFile(journal, Buffer.concat([await readFile(journal), Buffer.from([0, 0, 0, 50, 1, 2, 3, 4, 9, 9])])); // torn: header of a frame that never landed
      const restarted = new SnapshotStore({ compile, diskPath });
      const loaded = await restarted.loadFromDisk();
      expect(loaded).toMatchObject({ kind: "loaded", version: 2n });
      expect((loaded as { warnings: string[] }).warnings.join()).toMatch(/torn tail/);
      expect((await readFile(journal)).length).toBe(good);
      await restarted.apply(delta(3, 2, ["c"]));
      const again = new SnapshotStore({ compile, diskPath });
      expect(await again.loadFromDisk()).toEqual({ kind: "loaded", version: 3n, warnings: [] });
      expect(groups(again)).toEqual(["a", "b", "c"]);

      // A delta that does not continue the chain (e.g. appended after a failed base write) stops the replay.
      const bytes = toBinary(SnapshotSchema, delta(9, 7, ["z"]));
      await writeFile(journal, Buffer.concat([await readFile(journal), frameHeader(bytes), bytes]));
      const broken = new SnapshotStore({ compile, diskPath });
      const out = await broken.loadFromDisk();
      expect(out).toMatchObject({ kind: "loaded", version: 3n });
      expect((out as { warnings: string[] }).warnings.join()).toMatch(/breaks at version 9/);
      expect(groups(broken)).toEqual(["a", "b", "c"]);
    });

    test("past half its base the journal is folded into a new base; entries a base already holds are skipped on load", async () => {
      const diskPath = join(dir, "snapshot.bin");
      const store = new SnapshotStore({ compile, diskPath, journalMinBytes: 400 });
      await store.apply(withBindings(1, ["a"]));
      const journal = `${diskPath}.journal`;
      let version = 1;
      for (let i = 0; i < 30; i++, version++) await store.apply(delta(version + 1, version, [`g${i}`]));
      const journalSize = await stat(journal).then((st) => st.size, () => 0);
      expect(journalSize).toBeLessThanOrEqual(400 + 200);
      const onDisk = fromBinary(SnapshotSchema, await readFile(diskPath));
      expect(onDisk.version).toBeGreaterThan(1n); // a newer base was written
      expect(onDisk.baseVersion).toBe(0n);
      const restarted = new SnapshotStore({ compile, diskPath });
      expect(await restarted.loadFromDisk()).toEqual({ kind: "loaded", version: BigInt(version), warnings: [] });
      expect(groups(restarted)).toEqual(groups(store));

      // A crash between writing a new base and removing the journal leaves entries the base holds: skipped.
      const stale = toBinary(SnapshotSchema, delta(2, 1, ["old"]));
      await writeFile(journal, Buffer.concat([frameHeader(stale), stale]));
      await writeFile(diskPath, toBinary(SnapshotSchema, withBindings(5, ["x"])));
      const skipped = new SnapshotStore({ compile, diskPath });
      expect(await skipped.loadFromDisk()).toEqual({ kind: "loaded", version: 5n, warnings: [] });
      expect(groups(skipped)).toEqual(["x"]);
    });
  });
});
