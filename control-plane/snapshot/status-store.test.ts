import { createTestDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { openStore, type Store } from "../store/client.js";
import { ProxyStatusRegistry } from "./status.js";
import { listProxyStatuses, persistProxyStatus, STALE_AFTER_MS } from "./status-store.js";

let db: TestDatabase;
let store: Store;
beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  store = await openStore(db.url);
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

const settle = () => new Promise((r) => setTimeout(r, 100));

test("replicas share proxy status: the stream holder owns `connected`, an ack elsewhere does not clear it", async () => {
  const a = new ProxyStatusRegistry();
  const b = new ProxyStatusRegistry();
  const mirrorA = persistProxyStatus(store.prisma, a, "replica-a");
  const mirrorB = persistProxyStatus(store.prisma, b, "replica-b");
  try {
    const disconnect = a.connected("proxy-1", { address: "10.0.0.1:8080", lastVersion: 3n });
    b.ack("proxy-1", 4n, ""); // the unary Ack landed on the other replica
    await settle();
    const seenByB = (await listProxyStatuses(store.prisma, b)).find((p) => p.proxyId === "proxy-1")!;
    expect(seenByB).toMatchObject({ connected: true, ackedVersion: 4n, address: "10.0.0.1:8080" });

    disconnect();
    await settle();
    expect((await listProxyStatuses(store.prisma, b)).find((p) => p.proxyId === "proxy-1")).toMatchObject({ connected: false, ackedVersion: 4n });
  } finally {
    mirrorA.stop();
    mirrorB.stop();
  }
});

test("coalesced: during the window nothing is written; then each proxy's newest state, once", async () => {
  const registry = new ProxyStatusRegistry();
  let upserts = 0;
  // The same client, counting proxyStatus upserts.
  const counting = new Proxy(store.prisma, {
    get: (target, key) =>
      key === "proxyStatus"
        ? new Proxy(target.proxyStatus, {
            get: (table, name) => (name === "upsert" ? (...args: Parameters<typeof table.upsert>) => (upserts++, table.upsert(...args)) : Reflect.get(table, name)),
          })
        : Reflect.get(target, key),
  });
  const mirror = persistProxyStatus(counting, registry, "replica-c", { coalesceMs: 60_000 });
  registry.connected("proxy-c1", { address: "10.0.0.3:8080", lastVersion: 1n });
  registry.connected("proxy-c2", { address: "10.0.0.4:8080", lastVersion: 1n });
  for (const v of [2n, 3n, 4n]) {
    registry.ack("proxy-c1", v, "");
    registry.ack("proxy-c2", v, "");
  }
  await settle();
  expect(upserts).toBe(0);
  mirror.stop(); // ends the window now
  await settle();
  expect(upserts).toBe(2);
  const rows = await store.prisma.proxyStatus.findMany({ where: { proxyId: { in: ["proxy-c1", "proxy-c2"] } }, orderBy: { proxyId: "asc" } });
  expect(rows.map((r) => [r.proxyId, r.ackedVersion, r.connected])).toEqual([
    ["proxy-c1", 4n, true],
    ["proxy-c2", 4n, true],
  ]);
});

test("a stream whose replica stopped heartbeating counts as gone", async () => {
  await store.prisma.proxyStatus.create({ data: { proxyId: "proxy-stale", connected: true, replica: "crashed", lastSeenAt: new Date(Date.now() - STALE_AFTER_MS - 1_000) } });
  const statuses = await listProxyStatuses(store.prisma, new ProxyStatusRegistry());
  expect(statuses.find((p) => p.proxyId === "proxy-stale")!.connected).toBe(false);
});
