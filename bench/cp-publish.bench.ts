/**
 * The control plane alone (issue 18): from an admin mutation's start (updatePolicy, as the
 * GraphQL resolver calls it) until the new version was handed to the last of N in-process
 * watchers, on PostgreSQL; and the process's CPU per change. No proxies and no gRPC: what
 * the control plane adds to a fleet round, small policy (the bench policy).
 *
 * A/B in one process, alternating rounds: "old" refreshes without the commit's change (a
 * version-row read first, then every collection read), "new" passes it (no version read,
 * only the changed collections: change-hints.ts). Quote ranges over runs: the machine is shared.
 *   npx tsx bench/cp-publish.bench.ts [--watchers 30] [--rounds 50] [--change policy|binding]
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { createTestDatabase } from "../test/helpers/databases.js";
import { openStore } from "../control-plane/store/client.js";
import { SecretBox } from "../control-plane/secrets.js";
import { SnapshotPublisher } from "../control-plane/snapshot/publisher.js";
import { startSnapshotRefresher } from "../control-plane/snapshot/refresher.js";
import { createSnapshotBuilder } from "../control-plane/snapshot/incremental.js";
import { gatewayKeySource } from "../control-plane/snapshot/gateway-keys.js";
import type { LocalChange } from "../control-plane/snapshot/change-hints.js";
import { updatePolicy } from "../control-plane/admin/policies.js";
import { principal } from "../control-plane/auth/principal.js";
import { SCOPES } from "../control-plane/auth/scopes.js";
import { bindRoleToGroup, deleteRoleBinding } from "../control-plane/admin/role-bindings.js";
import { applyBenchPolicy, BENCH_ISSUER } from "./lib/snapshot-seed.js";

const { values } = parseArgs({ options: { watchers: { type: "string", default: "30" }, rounds: { type: "string", default: "50" }, change: { type: "string", default: "policy" }, help: { type: "boolean" } } });
if (values.help || !["policy", "binding"].includes(values.change)) {
  console.log("npx tsx bench/cp-publish.bench.ts [--watchers 30] [--rounds 50] [--change policy|binding]   (needs the test PostgreSQL)\n  policy: updatePolicy's graphs; binding: a group binding added, then removed");
  process.exit(0);
}
const watchers = Number(values.watchers);
const rounds = Number(values.rounds);
const WARMUP = 5;

const db = await createTestDatabase("postgresql");
const store = await openStore(db.url);
try {
  const secrets = SecretBox.fromBase64(randomBytes(32).toString("base64"));
  await applyBenchPolicy(store.prisma, secrets);
  await store.prisma.snapshotVersion.updateMany({ where: { id: 1, version: 0n }, data: { version: 1n } });
  const publisher = new SnapshotPublisher();
  const refresher = startSnapshotRefresher({ db: store.prisma, publisher, build: createSnapshotBuilder(store.prisma, store.provider, secrets, gatewayKeySource(secrets)), pollMs: 3_600_000 });
  await refresher.refresh();
  let waiting: { version: bigint; left: number; done: () => void } | undefined;
  for (let i = 0; i < watchers; i++) {
    publisher.watch({
      lastVersion: publisher.current()!.version,
      acceptsDelta: true,
      send: async (s) => {
        if (waiting && s.version >= waiting.version && --waiting.left === 0) waiting.done();
      },
    });
  }
  const by = principal("bootstrap", "bench", SCOPES);
  const policy = (await store.prisma.policy.findFirst({ where: { name: "p0-all" } }))!;
  const modes = {
    old: { refresh: (_?: LocalChange) => refresher.refresh(), wall: [] as number[], cpu: [] as number[], refreshWall: [] as number[], refreshCpu: [] as number[] },
    new: { refresh: (change?: LocalChange) => refresher.refresh(change), wall: [] as number[], cpu: [] as number[], refreshWall: [] as number[], refreshCpu: [] as number[] },
  };
  const bound: Array<Awaited<ReturnType<typeof bindRoleToGroup>>> = [];
  for (let r = 0; r < 2 * (rounds + WARMUP); r++) {
    const mode = r % 2 === 0 ? modes.old : modes.new;
    let refreshMs = 0;
    let refreshCpuMs = 0;
    const deps = {
      db: store.prisma,
      secrets,
      allowHttpIssuers: "never" as const,
      refreshSnapshot: async (change?: LocalChange) => {
        const t = performance.now();
        const c0 = process.cpuUsage();
        await mode.refresh(change);
        const c = process.cpuUsage(c0);
        refreshMs = performance.now() - t;
        refreshCpuMs = (c.user + c.system) / 1000;
      },
    };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const committed =
      values.change === "policy"
        ? await updatePolicy(deps, by, policy.id, { graphs: [`bench-${r}`] })
        : r % 4 < 2 // each mode adds a binding, then removes it
          ? (bound[r % 2] = await bindRoleToGroup(deps, by, { role: "bench-role-2", issuer: BENCH_ISSUER, group: `bench-${r % 2}` }))
          : await deleteRoleBinding(deps, by, bound[r % 2]!.value.id);
    // Watchers got the version while refreshSnapshot ran (sends resolve at once): check, don't wait.
    if (publisher.current()!.version < committed.snapshotVersion!) await new Promise<void>((done) => (waiting = { version: committed.snapshotVersion!, left: watchers, done }));
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (r >= 2 * WARMUP) {
      mode.wall.push(ms);
      mode.cpu.push((c.user + c.system) / 1000);
      mode.refreshWall.push(refreshMs);
      mode.refreshCpu.push(refreshCpuMs);
    }
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!.toFixed(1);
  console.log(`${values.change} change, ${watchers} in-process watchers, ${rounds} rounds per mode, alternating; ms`);
  for (const [name, m] of Object.entries(modes)) {
    console.log(`${name}: mutation -> last watcher wall p50 ${q(m.wall, 50)} p90 ${q(m.wall, 90)} p99 ${q(m.wall, 99)}, CPU p50 ${q(m.cpu, 50)} p90 ${q(m.cpu, 90)} | refresh (read, build, publish) wall p50 ${q(m.refreshWall, 50)} p90 ${q(m.refreshWall, 90)}, CPU p50 ${q(m.refreshCpu, 50)} p90 ${q(m.refreshCpu, 90)}`);
  }
  refresher.stop();
} finally {
  await store.close();
  await db.drop();
}
