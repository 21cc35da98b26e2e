import { create } from "@bufbuild/protobuf";
import { bindGrpcService } from "../../proto/grpc-adapter.js";
import { PolicyService, SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { createPolicyService } from "../../control-plane/grpc/policy-service.js";
import { startGrpcServer } from "../../control-plane/grpc/server.js";
import type { GrpcServerHandle } from "../../control-plane/grpc/server.js";
import { SnapshotPublisher } from "../../control-plane/snapshot/publisher.js";
import { ProxyStatusRegistry } from "../../control-plane/snapshot/status.js";
import { SnapshotStore } from "../policy/snapshot-store.js";
import { startWatch } from "./watch-client.js";
import type { SyncLog, WatchClientOptions, WatchHandle } from "./watch-client.js";

const TOKEN = "watch-test-proxy-token-0123456789";
const SECRET = "sk-upstream-secret-value";
const quiet = () => undefined;

/** A snapshot carrying an upstream credential; `bad` makes the compiler reject it. */
const snap = (version: number, bad = false): Snapshot =>
  create(SnapshotSchema, {
    version: BigInt(version),
    connections: [{ id: "c1", credential: SECRET }],
    assertionKey: bad ? "BAD" : "k",
  });

/** Counts compilations and rejects "BAD" snapshots, like a validation failure in compilePolicy. */
function countingStore() {
  const compiled: bigint[] = [];
  const store = new SnapshotStore({
    compile: (s: Snapshot) => {
      if (s.assertionKey === "BAD") throw new Error(`snapshot ${s.version}: bad assertion key`);
      compiled.push(s.version);
      return { version: s.version };
    },
  });
  return { store, compiled };
}

async function startCp(publisher: SnapshotPublisher, status: ProxyStatusRegistry, port = 0): Promise<GrpcServerHandle> {
  return startGrpcServer({
    port,
    proxyToken: TOKEN,
    services: [bindGrpcService(PolicyService, createPolicyService({ publisher, status, log: quiet }))],
    log: quiet,
  });
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("watch client against a real control-plane server", () => {
  let publisher: SnapshotPublisher;
  let status: ProxyStatusRegistry;
  let server: GrpcServerHandle;
  let watch: WatchHandle | undefined;
  let logs: string[];

  const log: SyncLog = (level, msg, fields) =>
    logs.push(JSON.stringify({ level, msg, ...fields }, (_k, v) => (typeof v === "bigint" ? `${v}` : v)));

  function start(store: WatchClientOptions["store"], extra: Partial<WatchClientOptions> = {}): WatchHandle {
    watch = startWatch({
      address: server.address,
      proxyId: "proxy-1",
      proxyToken: TOKEN,
      advertisedAddress: "127.0.0.1:8080",
      store,
      backoff: { baseMs: 20, capMs: 200 },
      log,
      ...extra,
    });
    return watch;
  }

  beforeEach(async () => {
    logs = [];
    publisher = new SnapshotPublisher(snap(3));
    status = new ProxyStatusRegistry();
    server = await startCp(publisher, status);
  });

  afterEach(async () => {
    await watch?.stop();
    watch = undefined;
    await server.stop(100);
    // Whatever happened, no secret reached a log line.
    const all = logs.join("\n");
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(SECRET);
  });

  test("gets the current snapshot on connect, applies it and acks", async () => {
    const { store, compiled } = countingStore();
    const applied: bigint[] = [];
    const w = start(store, { onApplied: (v) => applied.push(v) });
    await waitFor("ack of v3", () => status.get("proxy-1")?.ackedVersion === 3n);
    expect(store.current()?.version).toBe(3n);
    expect(compiled).toEqual([3n]);
    expect(applied).toEqual([3n]);
    expect(w.status()).toMatchObject({ connected: true, lastVersion: 3n, lastError: null, connects: 1 });
    expect(status.get("proxy-1")).toMatchObject({ connected: true, address: "127.0.0.1:8080" });
  });

  test("gets nothing when already up to date (last_version = current)", async () => {
    const { store, compiled } = countingStore();
    await store.apply(snap(3));
    const w = start(store);
    await waitFor("connected", () => w.status().connected);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(compiled).toEqual([3n]); // only our own apply above
    // The control plane learned the version from last_version, without an ack.
    expect(status.get("proxy-1")).toMatchObject({ connected: true, ackedVersion: 3n });
  });

  test("100 rapid publishes coalesce: the proxy ends on the last version after far fewer applies", async () => {
    const { store, compiled } = countingStore();
    const w = start(store);
    await waitFor("v3", () => store.current()?.version === 3n);
    for (let v = 4; v <= 103; v++) {
      publisher.publish(snap(v));
      // Let the event loop turn now and then, so this is a burst, not one synchronous block.
      if (v % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor("v103", () => store.current()?.version === 103n);
    await waitFor("ack of v103", () => status.get("proxy-1")?.ackedVersion === 103n);
    const received = compiled.length - 1; // minus the initial v3
    expect(received).toBeGreaterThanOrEqual(1);
    expect(received).toBeLessThan(50);
    // Monotonic: every apply moved forward.
    expect([...compiled].sort((a, b) => (a < b ? -1 : 1))).toEqual(compiled);
    expect(w.status().lastVersion).toBe(103n);
  });

  test("an older snapshot is dropped (monotonic) and reported to the control plane", async () => {
    const { store, compiled } = countingStore();
    await store.apply(snap(50)); // e.g. loaded from disk; the control plane is at 3
    start(store);
    await waitFor("stale report", () => status.get("proxy-1")?.lastError != null);
    expect(store.current()?.version).toBe(50n);
    expect(compiled).toEqual([50n]);
    expect(status.get("proxy-1")).toMatchObject({ ackedVersion: 50n, rejectedVersion: 3n, lastError: expect.stringMatching(/stale snapshot 3/) });
  });

  test("a snapshot that fails to compile is nacked; the last good stays and both sides show the error", async () => {
    const { store } = countingStore();
    const w = start(store);
    await waitFor("v3", () => store.current()?.version === 3n);
    publisher.publish(snap(4, true));
    await waitFor("nack", () => status.get("proxy-1")?.rejectedVersion === 4n);
    expect(store.current()?.version).toBe(3n);
    expect(w.status()).toMatchObject({ lastVersion: 3n, rejectedVersion: 4n, lastError: expect.stringMatching(/bad assertion key/) });
    expect(status.get("proxy-1")).toMatchObject({ ackedVersion: 3n, lastError: expect.stringMatching(/bad assertion key/) });

    publisher.publish(snap(5));
    await waitFor("v5 acked", () => status.get("proxy-1")?.ackedVersion === 5n);
    expect(w.status()).toMatchObject({ lastVersion: 5n, lastError: null, rejectedVersion: null });
    expect(status.get("proxy-1")).toMatchObject({ lastError: null, rejectedVersion: null });
  });

  test("reconnects after the server is stopped and restarted on the same port", async () => {
    const { store } = countingStore();
    const w = start(store);
    await waitFor("v3", () => store.current()?.version === 3n && w.status().connected);
    const port = server.port;

    await server.stop(50);
    await waitFor("disconnected", () => !w.status().connected);
    expect(w.status().lastError).toMatch(/UNAVAILABLE|CANCELLED/);
    expect(store.current()?.version).toBe(3n); // keeps enforcing the last good one
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few failed attempts

    publisher = new SnapshotPublisher(snap(9));
    status = new ProxyStatusRegistry();
    server = await startCp(publisher, status, port);
    await waitFor("v9 after reconnect", () => store.current()?.version === 9n);
    await waitFor("connected", () => w.status().connected);
    expect(w.status()).toMatchObject({ lastError: null, lastVersion: 9n });
    expect(w.status().connects).toBeGreaterThanOrEqual(2);
    await waitFor("ack on the new server", () => status.get("proxy-1")?.ackedVersion === 9n);
  });

  test("enforce first: the ack does not wait for the disk copy; its warning is logged when the write ends", async () => {
    const inner = new SnapshotStore({ compile: (x: Snapshot) => ({ version: x.version }) });
    const writes: Array<(warnings: string[]) => void> = [];
    const store = {
      current: () => inner.current(),
      apply: (x: Snapshot) => inner.apply(x),
      applyNow: async (x: Snapshot) => ({ outcome: (await inner.applyNow(x)).outcome, saved: new Promise<string[]>((resolve) => writes.push(resolve)) }),
    };
    start(store);
    await waitFor("ack of v3 with its disk write pending", () => status.get("proxy-1")?.ackedVersion === 3n);
    publisher.publish(snap(4));
    await waitFor("ack of v4 with its disk write pending", () => status.get("proxy-1")?.ackedVersion === 4n);
    expect(writes).toHaveLength(2);
    expect(logs.join("\n")).not.toContain("with a warning");
    writes[1]!(["snapshot not saved to disk: ENOSPC"]);
    await waitFor("the write's warning", () => logs.some((l) => l.includes("with a warning") && l.includes("ENOSPC")));
  });

  test("a reconnect drops what the ended stream left queued: the new stream's delta applies without a resync", async () => {
    // A store whose apply swaps at once but resolves only when `disk` does (a slow disk copy),
    // so that what arrives meanwhile queues in the client.
    const compiled: bigint[] = [];
    const inner = new SnapshotStore({ compile: (x: Snapshot) => (compiled.push(x.version), { version: x.version }) });
    let disk: Promise<void> = Promise.resolve();
    const store = { acceptsDelta: true, current: () => inner.current(), apply: async (x: Snapshot) => {
        const outcome = await inner.apply(x);
        await disk;
        return outcome;
      },
    };
    const w = start(store);
    await waitFor("v3", () => store.current()?.version === 3n && w.status().connected);
    let release!: () => void;
    disk = new Promise((resolve) => (release = resolve));
    const step = (v: number) => publisher.publish(snap(v), { baseVersion: BigInt(v - 1), added: [], removed: [] });
    step(4);
    step(5); // 4 is stuck on the disk; 5 queues behind it
    await new Promise((resolve) => setTimeout(resolve, 300));
    const port = server.port;
    await server.stop(50);
    await waitFor("disconnected", () => !w.status().connected);
    step(6);
    server = await startCp(publisher, status, port);
    await waitFor("reconnected", () => w.status().connected);
    release();
    await waitFor("v6", () => store.current()?.version === 6n);
    expect(logs.join("\n")).not.toContain("resyncing");
    expect(compiled).not.toContain(5n); // the old stream's leftover was dropped, not applied
  });

  test("a wrong token keeps retrying, never applies anything and says UNAUTHENTICATED", async () => {
    const { store, compiled } = countingStore();
    const w = start(store, { proxyToken: "not-the-right-token-at-all" });
    await waitFor("error", () => w.status().lastError !== null);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(w.status()).toMatchObject({ connected: false, lastVersion: null, lastError: expect.stringMatching(/UNAUTHENTICATED/) });
    expect(compiled).toEqual([]);
    expect(logs.filter((l) => l.includes("watch stream ended")).length).toBeGreaterThan(1);
    expect(logs.join("\n")).not.toContain("not-the-right-token-at-all");
  });

  test("stop() ends the stream and the proxy shows as disconnected", async () => {
    const { store } = countingStore();
    const w = start(store);
    await waitFor("connected", () => status.get("proxy-1")?.connected === true);
    await w.stop();
    await waitFor("disconnected on the server", () => status.get("proxy-1")?.connected === false);
    expect(w.status().connected).toBe(false);
  });
});
