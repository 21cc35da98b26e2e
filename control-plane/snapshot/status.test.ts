import { ProxyStatusRegistry } from "./status.js";
import type { ProxyStatus } from "./status.js";

describe("ProxyStatusRegistry", () => {
  let clock = 0;
  const now = () => new Date(1_700_000_000_000 + clock);
  beforeEach(() => {
    clock = 0;
  });

  test("connect, ack, nack, disconnect", () => {
    const registry = new ProxyStatusRegistry({ now });
    const changes: ProxyStatus[] = [];
    registry.onChange((s) => changes.push(s));

    const close = registry.connected("p1", { address: "10.0.0.5:8080", lastVersion: 4n });
    expect(registry.get("p1")).toMatchObject({ address: "10.0.0.5:8080", ackedVersion: 4n, connected: true, lastError: null });

    clock = 10;
    registry.ack("p1", 6n, "compile failed: bad glob");
    expect(registry.get("p1")).toMatchObject({ ackedVersion: 4n, lastError: "compile failed: bad glob", rejectedVersion: 6n });
    expect(registry.get("p1")?.lastSeen.getTime()).toBe(1_700_000_000_010);

    registry.ack("p1", 7n, "");
    expect(registry.get("p1")).toMatchObject({ ackedVersion: 7n, lastError: null, rejectedVersion: null });
    registry.ack("p1", 5n, ""); // a late ack never moves the version back
    expect(registry.get("p1")?.ackedVersion).toBe(7n);

    close();
    close(); // idempotent
    expect(registry.get("p1")?.connected).toBe(false);
    expect(changes.map((c) => c.connected)).toEqual([true, true, true, true, false]);
  });

  test("overlapping streams of one proxy (reconnect race) keep it connected until the last closes", () => {
    const registry = new ProxyStatusRegistry({ now });
    const closeOld = registry.connected("p1", { address: "", lastVersion: 0n });
    const closeNew = registry.connected("p1", { address: "a:1", lastVersion: 0n });
    closeOld();
    expect(registry.get("p1")).toMatchObject({ connected: true, address: "a:1", ackedVersion: null });
    closeNew();
    expect(registry.get("p1")?.connected).toBe(false);
  });

  test("list is sorted, made of copies, and a throwing listener does not break updates", () => {
    const registry = new ProxyStatusRegistry({ now });
    registry.onChange(() => {
      throw new Error("persistence down");
    });
    registry.ack("b", 1n, "");
    registry.ack("a", 2n, "");
    const list = registry.list();
    expect(list.map((s) => s.proxyId)).toEqual(["a", "b"]);
    list[0]!.lastSeen.setTime(0);
    expect(registry.get("a")?.lastSeen.getTime()).not.toBe(0);
    expect(Object.isFrozen(list[0])).toBe(true);
  });
});
