/**
 * Snapshot compile cost at a given number of role bindings: the control plane's
 * `buildSnapshot` (DB → Snapshot message) on a freshly seeded database, the serialized size
 * (what one Watch message carries), and the proxy's side: `fromBinary` (gRPC deserializer)
 * and `proxyStateCompiler` / `compilePolicy` (what `SnapshotStore.apply` runs).
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { SnapshotSchema, type Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { buildSnapshot } from "../../control-plane/snapshot/compile.js";
import { gatewayKeySource } from "../../control-plane/snapshot/gateway-keys.js";
import { openStore } from "../../control-plane/store/client.js";
import { SecretBox } from "../../control-plane/secrets.js";
import { compilePolicy } from "../../data-plane/policy/compile.js";
import { proxyStateCompiler } from "../../data-plane/policy/proxy-state.js";
import { createTestDatabase, type TestProvider } from "../../test/helpers/databases.js";
import { applyBenchPolicy, BENCH_ISSUER, BENCH_ROLES, seedBindings } from "./snapshot-seed.js";
import { percentile } from "./stats.js";

/** Median of `runs` timings of `fn` (ms); `fn` may be async. Also returns the last result. */
export async function medianMs<T>(runs: number, fn: () => T | Promise<T>): Promise<{ median: number; min: number; max: number; last: T }> {
  const times: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await fn();
    times.push(performance.now() - t0);
  }
  const sorted = Float64Array.from(times).sort();
  return { median: percentile(sorted, 50), min: sorted[0]!, max: sorted[sorted.length - 1]!, last: last as T };
}

/** buildSnapshot on one provider at one size. */
export interface BuildResult {
  provider: TestProvider;
  bindings: number;
  /** Time to seed the bindings (createMany), ms. */
  seedMs: number;
  /** buildSnapshot, median / min / max of `runs`, ms. */
  buildMs: { median: number; min: number; max: number };
  /** The snapshot of the last run (the proxy side is measured on it). */
  snapshot: Snapshot;
}

/**
 * Creates a throw-away database, applies the bench policy, seeds `bindings` role bindings
 * and times `buildSnapshot` `runs` times after one untimed run; drops the database whatever happens.
 */
export async function measureBuild(provider: TestProvider, bindings: number, runs: number): Promise<BuildResult> {
  const database = await createTestDatabase(provider);
  try {
    const store = await openStore(database.url);
    try {
      const secrets = SecretBox.fromBase64(randomBytes(32).toString("base64"));
      const keys = gatewayKeySource(secrets);
      await applyBenchPolicy(store.prisma, secrets);
      const t0 = performance.now();
      await seedBindings(store.prisma, secrets, { count: bindings, issuer: BENCH_ISSUER, roles: BENCH_ROLES });
      const seedMs = performance.now() - t0;
      const build = () => buildSnapshot(store.prisma, secrets, keys);
      await build(); // warm-up: connection pool, prepared plans, JIT
      const { median, min, max, last } = await medianMs(runs, build);
      if (last.roleBindings.length !== bindings) throw new Error(`expected ${bindings} bindings in the snapshot, got ${last.roleBindings.length}`);
      return { provider, bindings, seedMs, buildMs: { median, min, max }, snapshot: last };
    } finally {
      await store.close();
    }
  } finally {
    await database.drop();
  }
}

/** Proxy-side and wire costs of one snapshot (medians of `runs`, ms; bytes). */
export interface ProxySideResult {
  bytes: number;
  /** toBinary: the control plane serializes once per watcher and write (grpc-adapter serializer). */
  serializeMs: number;
  /** fromBinary: the proxy's gRPC deserializer. */
  parseMs: number;
  /** compilePolicy alone (indexes, globs, denylist regexes). */
  compilePolicyMs: number;
  /** proxyStateCompiler with warm identity providers (verifier kept): what each policy change costs a proxy. */
  proxyStateMs: number;
  /** proxyStateCompiler on a fresh compiler (first snapshot after start: verifier built too). */
  proxyStateColdMs: number;
}

/** Measures serialization, parsing and the proxy's compile of `snapshot` (after one untimed run of each). */
export async function measureProxySide(snapshot: Snapshot, runs: number): Promise<ProxySideResult> {
  await medianMs(1, () => compilePolicy(fromBinary(SnapshotSchema, toBinary(SnapshotSchema, snapshot))));
  const serialized = await medianMs(runs, () => toBinary(SnapshotSchema, snapshot));
  const bytes = serialized.last;
  const parsed = await medianMs(runs, () => fromBinary(SnapshotSchema, bytes));
  const onWire = parsed.last;
  const policy = await medianMs(runs, () => compilePolicy(onWire));
  const warm = proxyStateCompiler({ allowHttp: "loopback" });
  warm(onWire);
  const state = await medianMs(runs, () => warm(onWire));
  const cold = await medianMs(runs, () => proxyStateCompiler({ allowHttp: "loopback" })(onWire));
  return {
    bytes: bytes.length,
    serializeMs: serialized.median,
    parseMs: parsed.median,
    compilePolicyMs: policy.median,
    proxyStateMs: state.median,
    proxyStateColdMs: cold.median,
  };
}
