import { withTestDatabases } from "../../test/helpers/databases.js";
import { openStore, type Store } from "./client.js";
import { bumpOnKeysChange, currentSnapshotVersion } from "./snapshot-version.js";

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
});
