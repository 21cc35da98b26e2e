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

test("a stream whose replica stopped heartbeating counts as gone", async () => {
  await store.prisma.proxyStatus.create({ data: { proxyId: "proxy-stale", connected: true, replica: "crashed", lastSeenAt: new Date(Date.now() - STALE_AFTER_MS - 1_000) } });
  const statuses = await listProxyStatuses(store.prisma, new ProxyStatusRegistry());
  expect(statuses.find((p) => p.proxyId === "proxy-stale")!.connected).toBe(false);
});
