import { randomBytes } from "node:crypto";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { SecretBox } from "../secrets.js";
import { gatewayKeySource } from "../snapshot/gateway-keys.js";
import { createSnapshotBuilder } from "../snapshot/incremental.js";
import { openStore, type Store } from "./client.js";
import { bumpOnKeysChange, currentSnapshotVersion, raiseKeyGeneration } from "./snapshot-version.js";

/** New key material is a new snapshot version (proxies get it without a policy change); the same keys are not. */
withTestDatabases((db) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(db.url);
  });
  afterAll(async () => store?.close());

  test("a changed fingerprint bumps once, the same one never; concurrent starts with the same keys bump once", async () => {
    const v0 = await currentSnapshotVersion(store.prisma);
    expect(await bumpOnKeysChange(store.prisma, "keys-1")).toBe(true);
    expect(await currentSnapshotVersion(store.prisma)).toBe(v0 + 1n);
    expect(await bumpOnKeysChange(store.prisma, "keys-1")).toBe(false);
    expect(await currentSnapshotVersion(store.prisma)).toBe(v0 + 1n);
    const raced = await Promise.all(Array.from({ length: 5 }, () => bumpOnKeysChange(store.prisma, "keys-2")));
    expect(raced.filter(Boolean)).toHaveLength(1);
    expect(await currentSnapshotVersion(store.prisma)).toBe(v0 + 2n);
  });

  test("replicas started with different key generations all publish the highest; an older one never lowers it", async () => {
    const secrets = SecretBox.fromBase64(randomBytes(32).toString("base64"));
    // Two replicas of one deployment: same database, same secret key, their own builders.
    const replicaA = createSnapshotBuilder(store.prisma, db.provider, secrets, gatewayKeySource(secrets));
    const replicaB = createSnapshotBuilder(store.prisma, db.provider, secrets, gatewayKeySource(secrets));
    const current = async (build: typeof replicaA) => (await build()).snapshot.gatewayKeys.filter((k) => k.purpose === "owner-tag").map((k) => k.id);
    const v0 = await currentSnapshotVersion(store.prisma);

    // B starts with AGENTGATE_GATEWAY_KEY_GENERATION=3 while A still runs (a rolling restart).
    expect(await raiseKeyGeneration(store.prisma, 3)).toBe(true);
    expect(await currentSnapshotVersion(store.prisma)).toBe(v0 + 1n);
    expect(await current(replicaA)).toEqual(["k3", "k2", "k1"]);
    expect(await current(replicaB)).toEqual(["k3", "k2", "k1"]);

    // A restarts with its old value 1: nothing moves back, no version is burnt.
    const raced = await Promise.all([raiseKeyGeneration(store.prisma, 1), raiseKeyGeneration(store.prisma, 3), raiseKeyGeneration(store.prisma, 2)]);
    expect(raced).toEqual([false, false, false]);
    expect(await currentSnapshotVersion(store.prisma)).toBe(v0 + 1n);
    expect(await current(replicaA)).toEqual(["k3", "k2", "k1"]);
    // Concurrent starts with a new value raise it once.
    expect((await Promise.all(Array.from({ length: 4 }, () => raiseKeyGeneration(store.prisma, 4)))).filter(Boolean)).toHaveLength(1);
    expect(await currentSnapshotVersion(store.prisma)).toBe(v0 + 2n);
    expect((await current(replicaB))[0]).toBe("k4");
  });
});
