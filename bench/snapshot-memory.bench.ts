/**
 * Proxy memory at a large policy (issue 18: under 300 MiB at 500,000 bindings), measured
 * where it is spent: a control plane (this process: a real PolicyService gRPC server over a
 * SnapshotPublisher) sends one proxy-like child process — `startWatch` + `SnapshotStore`
 * (with its disk copy) + `proxyStateCompiler`, what a proxy runs per snapshot — a small
 * snapshot, then a full snapshot of N bindings, then deltas of one binding each. The child
 * reports `process.memoryUsage()` at each point; with `--gc` it runs with --expose-gc and
 * also reports after a forced full GC (what is garbage, not yet collected, vs live).
 *
 *   npx tsx bench/snapshot-memory.bench.ts                      # 500,000 bindings
 *   npx tsx bench/snapshot-memory.bench.ts --bindings 100000 --gc
 *
 * The child carries none of the proxy's HTTP pipeline, so its baseline is lower than a real
 * proxy's (~110–140 MiB in the propagation bench): compare the growth over the baseline.
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { bindGrpcService } from "../proto/grpc-adapter.js";
import { PolicyService, RoleBindingSchema, SnapshotSchema, type RoleBinding, type Snapshot } from "../proto/gen/agentgate/v1/policy_pb.js";
import { codeVersion, load1 } from "./lib/machine.js";

const { values: args } = parseArgs({
  options: {
    bindings: { type: "string", default: "500000" },
    // "delta" (as in the propagation bench: the CP sends the 450,000 added since a 50,000-binding
    // version as one delta) or "full" (a proxy's first connect or resync: one full snapshot)
    via: { type: "string", default: "delta" },
    deltas: { type: "string", default: "5" },
    gc: { type: "boolean", default: false },
    idle: { type: "string", default: "5000" },
    child: { type: "string" },
    help: { type: "boolean", default: false },
  },
  strict: false,
});

const TOKEN = "memory-bench-proxy-token-0123456789";
const ISSUER = "https://idp.bench.example";
const mib = (n: number) => Math.round(n / 1024 / 1024);

interface MemoryPoint {
  at: string;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  version: string;
  applyMs?: number;
}

async function child(address: string, expectVersions: string): Promise<void> {
  const { SnapshotStore } = await import("../data-plane/policy/snapshot-store.js");
  const { proxyStateCompiler } = await import("../data-plane/policy/proxy-state.js");
  const { startWatch } = await import("../data-plane/sync/watch-client.js");
  const dir = mkdtempSync(join(tmpdir(), "ag-mem-"));
  const store = new SnapshotStore({ compile: proxyStateCompiler({ allowHttp: "loopback" }), diskPath: join(dir, "snapshot.bin") });
  const gc = (globalThis as { gc?: () => void }).gc;
  const report = (at: string, extra: Partial<MemoryPoint> = {}) => {
    const m = process.memoryUsage();
    process.send!({ at, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, version: `${store.current()?.version ?? 0n}`, ...extra });
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const [small, huge, last] = expectVersions.split(",").map(BigInt) as [bigint, bigint, bigint];
  const idle = Number(args.idle);
  let appliedAt = new Map<bigint, number>();
  const watch = startWatch({
    address,
    proxyId: "mem-proxy",
    proxyToken: TOKEN,
    advertisedAddress: "127.0.0.1:1",
    store,
    log: () => undefined,
    onApplied: (v) => appliedAt.set(v, performance.now()),
  });
  const until = async (v: bigint) => {
    while ((store.current()?.version ?? 0n) < v) await sleep(2);
    await store.flushed();
  };
  await until(small);
  await sleep(500);
  if (gc) gc();
  report("baseline (small policy)");
  process.send!({ ready: true });
  const receivedAt = performance.now();
  // Sample RSS while the big snapshot arrives and applies: the peak matters too.
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  await until(huge);
  clearInterval(sampler);
  report("full snapshot applied + saved", { applyMs: (appliedAt.get(huge) ?? 0) - receivedAt });
  process.send!({ at: "peak RSS during apply", rss: peak, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, version: "" });
  await sleep(idle);
  report(`idle ${idle} ms`);
  if (process.env["MEMORY_BENCH_HEAP_SNAPSHOT"]) (await import("node:v8")).writeHeapSnapshot(process.env["MEMORY_BENCH_HEAP_SNAPSHOT"]);
  process.send!({ deltas: true });
  await until(last);
  await sleep(idle);
  report(`deltas applied, idle ${idle} ms`);
  if (gc) {
    gc();
    await sleep(200);
    report("after forced full GC");
  }
  appliedAt = new Map();
  await watch.stop();
  rmSync(dir, { recursive: true, force: true });
  process.send!({ done: true });
}

function bindingsOf(count: number): RoleBinding[] {
  const out: RoleBinding[] = [];
  const groups = count - Math.floor(count / 2);
  for (let i = 0; i < groups; i++) out.push(create(RoleBindingSchema, { role: "bench-bulk", issuer: ISSUER, group: `bulk-group-${i}` }));
  for (let i = 0; i < count - groups; i++) out.push(create(RoleBindingSchema, { role: "bench-bulk", issuer: ISSUER, subject: `bulk-user-${i}` }));
  return out;
}

function snapshotOf(version: bigint, roleBindings: RoleBinding[]): Snapshot {
  return create(SnapshotSchema, {
    version,
    identityProviders: [{ id: "idp", issuer: ISSUER, audiences: ["agentgate"], groupsClaim: "groups" }],
    connections: [{ id: "c1", name: "lg-a", baseUrl: "http://127.0.0.1:9/lg-a", credential: "bench-upstream-key" }],
    policies: [{ id: "p1", name: "p0-all", role: "bench-bulk", connectionId: "c1", graphs: ["*"], operations: ["*"] }],
    assertionKey: "k".repeat(32),
    roleBindings,
  });
}

async function parent(): Promise<void> {
  const { SnapshotPublisher } = await import("../control-plane/snapshot/publisher.js");
  const { ProxyStatusRegistry } = await import("../control-plane/snapshot/status.js");
  const { createPolicyService } = await import("../control-plane/grpc/policy-service.js");
  const { startGrpcServer } = await import("../control-plane/grpc/server.js");
  const count = Number(args.bindings);
  const deltas = Number(args.deltas);
  const quiet = () => undefined;
  const publisher = new SnapshotPublisher();
  const server = await startGrpcServer({
    port: 0,
    proxyToken: TOKEN,
    services: [bindGrpcService(PolicyService, createPolicyService({ publisher, status: new ProxyStatusRegistry(), log: quiet }))],
    log: quiet,
  });
  console.log(`# snapshot memory bench: ${count} bindings, ${deltas} deltas, code ${codeVersion()}, load1 ${load1()}${args.gc ? ", --expose-gc" : ""}`);
  publisher.publish(snapshotOf(1n, bindingsOf(10)));
  const big = bindingsOf(count);
  const hugeVersion = 3n;
  const last = hugeVersion + BigInt(deltas);
  const execArgv = ["--import", "tsx", ...(args.gc ? ["--expose-gc"] : [])];
  const proc = fork(new URL(import.meta.url).pathname, ["--child", server.address, "--idle", String(args.idle)], {
    execArgv,
    env: { ...process.env, MEMORY_BENCH_VERSIONS: `1,${hugeVersion},${last}` },
  });
  const points: MemoryPoint[] = [];
  await new Promise<void>((resolve, reject) => {
    proc.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))));
    proc.on("message", (m: MemoryPoint & { ready?: boolean; deltas?: boolean; done?: boolean }) => {
      if (m.ready) {
        if (args.via === "full") publisher.publish(snapshotOf(hugeVersion, big));
        else {
          // 50,000 first (as the propagation bench does), then the rest as one delta.
          const first = big.slice(0, Math.min(50_000, big.length));
          publisher.publish(snapshotOf(hugeVersion - 1n, first)); // full: the 10 small ones are replaced
          publisher.publish(snapshotOf(hugeVersion, big), { baseVersion: hugeVersion - 1n, added: big.slice(first.length), removed: [] });
        }
      }
      else if (m.deltas) {
        let bindings = big;
        for (let v = hugeVersion + 1n; v <= last; v++) {
          const added = [create(RoleBindingSchema, { role: "bench-bulk", issuer: ISSUER, group: `delta-group-${v}` })];
          bindings = [...bindings, ...added];
          publisher.publish(snapshotOf(v, bindings), { baseVersion: v - 1n, added, removed: [] });
        }
      } else if (m.done) proc.disconnect();
      else if (m.at) points.push(m);
    });
  });
  await server.stop(100);
  console.log("| point | RSS MiB | heapUsed MiB | heapTotal MiB | external MiB | arrayBuffers MiB | apply ms |");
  console.log("|:--|--:|--:|--:|--:|--:|--:|");
  for (const p of points)
    console.log(`| ${p.at} | ${mib(p.rss)} | ${p.heapUsed ? mib(p.heapUsed) : "-"} | ${p.heapTotal ? mib(p.heapTotal) : "-"} | ${p.heapUsed ? mib(p.external) : "-"} | ${p.heapUsed ? mib(p.arrayBuffers) : "-"} | ${p.applyMs?.toFixed(0) ?? ""} |`);
  console.log(`load1 at end ${load1()}`);
  process.exit(0);
}

if (args.help) {
  console.log("npx tsx bench/snapshot-memory.bench.ts [--bindings 500000] [--deltas 5] [--idle 5000] [--gc]");
} else if (typeof args.child === "string") {
  await child(args.child, process.env["MEMORY_BENCH_VERSIONS"]!);
  process.exit(0);
} else {
  await parent();
}
