/**
 * Mutation → enforcement latency for the snapshot bench: the real system (`startStack`:
 * LangGraph dev server, dev issuer, control plane on PostgreSQL, N proxy processes) plus a
 * static upstream for the probe connection, an admin GraphQL client, a tracker of which
 * proxy applied which snapshot version when, an HTTP prober, and in-process watch clients
 * (`startWatch` + `SnapshotStore` + `proxyStateCompiler`: the code a proxy runs per snapshot)
 * for fleets too large to run as processes on a small machine.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import { parse, stringify } from "yaml";
import { startStack, type Stack } from "../../demo/stack.js";
import { demoPolicyYaml, type DemoPolicyInput } from "../../demo/demo-policy.js";
import { startServiceProcess, type ServiceProcess } from "../../demo/service-process.js";
import { SnapshotStore } from "../../data-plane/policy/snapshot-store.js";
import { proxyStateCompiler } from "../../data-plane/policy/proxy-state.js";
import type { ProxyState } from "../../data-plane/pipeline/context.js";
import { jsonLineLog, startWatch, type SyncLog, type WatchHandle } from "../../data-plane/sync/watch-client.js";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { applyWithCli, seedPolicyYaml, type CliApplyResult } from "./snapshot-seed.js";
import { cpuMeter } from "./cpu-time.js";

/** Where each process's log lines are appended (`<component>.log`), when set. */
const LOG_DIR = process.env["BENCH_LOG_DIR"] || undefined;

/** The probe connection (static upstream) and the policy whose operations the bench toggles. */
const PROBE_CONNECTION = "probe";
const PROBE_POLICY = "bench-probe";
const PROBE_KEY_ENV = "AGENTGATE_UPSTREAM_BENCH_PROBE_KEY";
/** Allowed: any operation; denied: only runs, so the probe (`assistants:search`) gets 403 from the proxy itself. */
const ALLOW_OPERATIONS = ["*"];
const DENY_OPERATIONS = ["runs:*"];
/** Role and subject prefix of bulk-seeded bindings (large-snapshot rows). */
const BULK_ROLE = "bench-bulk";
const BULK_PREFIX = "bulk";

/** When each member (a proxy process or in-process client) applied which version, in bench time (performance.now). */
export class AppliedTracker {
  readonly #applied = new Map<string, Array<{ version: bigint; at: number }>>();
  readonly #waiters = new Set<() => void>();

  /** Notes that `member` applied `version` at `at`. */
  record(member: string, version: bigint, at = performance.now()): void {
    const list = this.#applied.get(member);
    if (list) list.push({ version, at });
    else this.#applied.set(member, [{ version, at }]);
    for (const check of [...this.#waiters]) check();
  }

  /** When `member` first applied `version` or a later one (snapshots coalesce), if it has. */
  appliedAt(member: string, version: bigint): number | undefined {
    return this.#applied.get(member)?.find((e) => e.version >= version)?.at;
  }

  /** Resolves with each member's apply time once all have applied `version` (or later); rejects after `timeoutMs`. */
  waitAll(members: readonly string[], version: bigint, timeoutMs: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const times = () => members.map((m) => this.appliedAt(m, version));
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = () => {
        const t = times();
        if (t.every((x) => x !== undefined)) {
          done();
          resolve(t);
        }
      };
      const timer = setTimeout(() => {
        done();
        const missing = members.filter((m) => this.appliedAt(m, version) === undefined);
        reject(new Error(`version ${version} not applied by ${missing.join(", ")} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}

/** The version of a proxy's "snapshot applied" log line (watch-client or app), else undefined. */
export function appliedVersionOf(line: string): bigint | undefined {
  if (!line.includes('"snapshot applied"')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; version?: unknown };
    return entry.msg === "snapshot applied" && typeof entry.version === "string" ? BigInt(entry.version) : undefined;
  } catch {
    return undefined;
  }
}

/** The control plane's admin GraphQL API, authenticated with the bootstrap token. */
export class AdminApi {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  /** Runs one operation; throws on HTTP or GraphQL errors. */
  async call<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: Array<{ message: string }> };
    if (res.status !== 200 || body.errors?.length || !body.data) throw new Error(`GraphQL ${res.status}: ${JSON.stringify(body.errors ?? body)}`);
    return body.data;
  }

  /** The id of the policy called `name`. */
  async policyId(name: string): Promise<string> {
    const data = await this.call<{ policies: { edges: Array<{ node: { id: string; name: string } }> } }>(`{ policies(first: 100) { edges { node { id name } } } }`);
    const node = data.policies.edges.find((e) => e.node.name === name)?.node;
    if (!node) throw new Error(`no policy ${name}`);
    return node.id;
  }

  /** `updatePolicy` of the operations; returns the snapshot version that carries the change. */
  async setPolicyOperations(id: string, operations: readonly string[]): Promise<bigint> {
    const data = await this.call<{ updatePolicy: { snapshotVersion: string | null } }>(
      `mutation($id: ID!, $ops: [String!]!) { updatePolicy(id: $id, input: { operations: $ops }) { snapshotVersion } }`,
      { id, ops: operations },
    );
    if (data.updatePolicy.snapshotVersion === null) throw new Error("updatePolicy changed nothing");
    return BigInt(data.updatePolicy.snapshotVersion);
  }
}

/** What one poll of a proxy saw, and when its response headers arrived (bench time). */
interface PollAnswer<T> {
  value: T;
  at: number;
}

/**
 * Polls proxies over HTTP: the probe request (`POST /c/probe/assistants/search`, a recorded
 * exchange the probe policy allows or denies) or `/readyz` (the version in force; cheap, not
 * recorded).
 */
export class Prober {
  readonly #agent = new Agent({ keepAliveTimeout: 60_000, connections: 4 });
  constructor(readonly token: string) {}

  /** One probe request; its status (200 allowed, 403 denied). */
  async status(proxyUrl: string): Promise<PollAnswer<number>> {
    const res = await request(`${proxyUrl}/c/${PROBE_CONNECTION}/assistants/search`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: '{"limit":1}',
      dispatcher: this.#agent,
    });
    const at = performance.now();
    await res.body.dump();
    return { value: res.statusCode, at };
  }

  /** The snapshot version the proxy enforces, from `/readyz` (0 before any). */
  async version(proxyUrl: string): Promise<PollAnswer<bigint>> {
    const res = await request(`${proxyUrl}/readyz`, { dispatcher: this.#agent });
    const at = performance.now();
    const body = (await res.body.json()) as { snapshotVersion?: string | null };
    return { value: BigInt(body.snapshotVersion ?? 0), at };
  }

  /** Polls `ask` every `gapMs` until `done(value)`; resolves with that answer's time. */
  async until<T>(ask: () => Promise<PollAnswer<T>>, done: (value: T) => boolean, deadline: number, gapMs: number): Promise<number> {
    for (;;) {
      const answer = await ask();
      if (done(answer.value)) return answer.at;
      if (answer.at > deadline) throw new Error(`still ${String(answer.value)} at the deadline`);
      await sleep(gapMs);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** One timed mutation: ms from just before the GraphQL request. */
export interface Sample {
  /** GraphQL round trip (the control plane builds and publishes the snapshot before answering). */
  mutationMs: number;
  /** Until the first member enforced / applied it. */
  firstMs: number;
  /** Until the last member did: the number that matters. */
  lastMs: number;
}

/** Samples of one row, and what failed (timeouts). */
export interface RoundsResult {
  samples: Sample[];
  failures: string[];
}

/** How a row decides that a member enforces the new version. */
export type Observe =
  /** The member reported the version: a proxy's "snapshot applied" log line, or `onApplied` in process. */
  | { kind: "applied" }
  /** Each proxy's probe request answers as the new policy says (403 after a deny, 200 after an allow). */
  | { kind: "probe"; urls: readonly string[]; gapMs: number }
  /** Each proxy's `/readyz` shows a version newer than the one before the mutation. */
  | { kind: "readyz"; urls: readonly string[]; gapMs: number };

/** Options of {@link PropagationSystem.measure}. */
export interface MeasureOptions {
  /** Members that must apply each version (tracker names). */
  members: readonly string[];
  observe: Observe;
  rounds: number;
  /** Untimed rounds first (connections, JIT). */
  warmup: number;
  timeoutMs: number;
  /** Pause after each round (acks, session shipping, GC settle). */
  settleMs: number;
}

/** The running system of the propagation rows. */
/** See {@link PropagationSystem.footprint}. */
export interface Footprint {
  rssMiB: number[];
  cpuUsPerRequest: number;
  status: number;
}

/** Resident set size of `pid` in MiB, from /proc (NaN when unreadable). */
function rssMiB(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}

export interface PropagationSystem {
  readonly stack: Stack;
  readonly tracker: AppliedTracker;
  /** gRPC address and proxy token, for in-process watch clients. */
  readonly grpcAddress: string;
  readonly proxyToken: string;
  /** Tracker names of the proxy processes still running ("proxy-1", …). */
  processMembers(): string[];
  /** Stops proxy processes beyond the first `keep`. */
  keepProcesses(keep: number): Promise<void>;
  /** Toggles the probe policy `rounds` times and times each change. */
  measure(opts: MeasureOptions): Promise<RoundsResult>;
  /**
   * What the running proxy processes cost: resident memory of each (from /proc), and the CPU
   * of proxy 1 per probe request over `requests` sequential probes (authorization included;
   * the probe policy's current state decides 200 or 403, reported with it).
   */
  footprint(requests: number): Promise<Footprint>;
  /** Applies `count` role bindings with `agentgate apply` (a real CLI process): one policy change. */
  seedBulk(count: number): Promise<CliApplyResult>;
  /** Applies the bulk role with no bindings again (one policy change). */
  removeBulk(): Promise<void>;
  /**
   * Waits until every running proxy process applied the control plane's current version (e.g.
   * a bulk change's full snapshot), so that timed rounds do not queue behind it; resolves with
   * that version and the ms waited.
   */
  settle(timeoutMs: number): Promise<{ version: bigint; ms: number }>;
  stop(): Promise<void>;
}

/** The demo policy plus the probe connection and a developer policy on it whose operations the bench toggles. */
function policyWithProbe(probeUrl: string): (input: DemoPolicyInput) => string {
  return (input) => {
    const doc = parse(demoPolicyYaml(input)) as { connections: unknown[]; policies: unknown[] };
    doc.connections.push({ name: PROBE_CONNECTION, baseUrl: probeUrl, credentialEnv: PROBE_KEY_ENV });
    doc.policies.push({ name: PROBE_POLICY, role: "developer", connection: PROBE_CONNECTION, graphs: ["*"], operations: ALLOW_OPERATIONS });
    return stringify(doc);
  };
}

/**
 * Starts a static upstream and the stack with `proxies` proxy processes, the control plane
 * on a throw-away PostgreSQL schema. Every proxy's "snapshot applied" log line feeds the
 * tracker. On failure, stops what already runs.
 */
export async function startPropagationSystem(opts: { proxies: number }): Promise<PropagationSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), "agentgate-bench-snapshot-"));
  const probeKey = `pk-${randomBytes(18).toString("base64url")}`;
  const adminToken = randomBytes(32).toString("hex");
  const tracker = new AppliedTracker();
  let database: TestDatabase | undefined;
  let upstream: ServiceProcess | undefined;
  let stack: Stack | undefined;
  let prober: Prober | undefined;
  const stop = async (): Promise<void> => {
    await prober?.close().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await upstream?.stop().catch(() => undefined);
    await database?.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    database = await createTestDatabase("postgresql");
    upstream = await startServiceProcess("bench/lib/static-upstream-server.ts", { BENCH_STATIC_KEY: probeKey });
    stack = await startStack({
      dataDir,
      databaseUrl: database.url,
      proxies: opts.proxies,
      policy: policyWithProbe(upstream.ready["url"]!),
      env: { AGENTGATE_ADMIN_BOOTSTRAP_TOKEN: adminToken, [PROBE_KEY_ENV]: probeKey },
      onLog: (component, line) => {
        const at = performance.now();
        const version = appliedVersionOf(line);
        if (version !== undefined) tracker.record(component, version, at);
        // Every process's log lines, kept for a failed round's post-mortem (BENCH_LOG_DIR).
        if (LOG_DIR !== undefined) appendFileSync(join(LOG_DIR, `${component}.log`), `${line}\n`);
      },
    });
    const api = new AdminApi(stack.graphqlUrl(), adminToken);
    const policyId = await api.policyId(PROBE_POLICY);
    prober = new Prober(await stack.issuer.mint({ sub: "bench-probe", groups: ["developers"], expiresIn: 3 * 3600 }));
    const initialVersion = (await prober.version(stack.proxyUrl(0))).value;
    return systemOf({ stack, tracker, api, policyId, prober, initialVersion, databaseUrl: database.url, stop });
  } catch (err) {
    await stop();
    throw err;
  }
}

function systemOf(parts: {
  stack: Stack;
  tracker: AppliedTracker;
  api: AdminApi;
  policyId: string;
  prober: Prober;
  /** The version the proxies enforce at start. */
  initialVersion: bigint;
  databaseUrl: string;
  stop: () => Promise<void>;
}): PropagationSystem {
  const { stack, tracker, api, policyId, prober } = parts;
  let running = stack.proxies.length;
  let allowed = true;
  // Every version bump comes from this bench's mutations, so the version before a round is the last one made.
  let lastVersion = parts.initialVersion;

  /** Starts polling the observed proxies (probe or readyz rows); undefined for "applied" rows. */
  const poll = (observe: Observe, before: bigint, deadline: number): Promise<number[]> | undefined => {
    if (observe.kind === "applied") return undefined;
    const expected = allowed ? 200 : 403;
    return Promise.all(
      observe.urls.map((url) =>
        observe.kind === "probe"
          ? prober.until(() => prober.status(url), (status) => status === expected, deadline, observe.gapMs)
          : prober.until(() => prober.version(url), (version) => version > before, deadline, observe.gapMs),
      ),
    );
  };

  /** One toggle: mutation, then wait until every member enforces it. */
  const round = async (opts: MeasureOptions): Promise<Sample> => {
    allowed = !allowed;
    const before = lastVersion;
    const t0 = performance.now();
    const deadline = t0 + opts.timeoutMs;
    // Polling starts with the mutation: the first answer reflecting the change is when that proxy enforces it.
    const probing = poll(opts.observe, before, deadline);
    probing?.catch(() => undefined);
    const version = await api.setPolicyOperations(policyId, allowed ? ALLOW_OPERATIONS : DENY_OPERATIONS);
    const mutationMs = performance.now() - t0;
    lastVersion = version;
    const applied = tracker.waitAll(opts.members, version, Math.max(1, deadline - performance.now()));
    applied.catch(() => undefined); // awaited below; this only keeps an early probe failure from leaving it unhandled
    const times = await (probing ?? applied);
    await applied; // settled everywhere before the next round, whatever was observed
    return { mutationMs, firstMs: Math.min(...times) - t0, lastMs: Math.max(...times) - t0 };
  };

  return {
    stack,
    tracker,
    grpcAddress: stack.controlPlane.ready["grpcAddress"]!,
    proxyToken: stack.proxyToken,
    processMembers: () => Array.from({ length: running }, (_, i) => `proxy-${i + 1}`),
    async keepProcesses(keep) {
      await Promise.all(stack.proxies.slice(keep, running).map((p) => p.stop()));
      running = Math.min(running, keep);
    },
    async measure(opts) {
      const samples: Sample[] = [];
      const failures: string[] = [];
      for (let i = 0; i < opts.warmup + opts.rounds; i++) {
        try {
          const sample = await round(opts);
          if (i >= opts.warmup) samples.push(sample);
        } catch (err) {
          failures.push((err as Error).message);
          await sleep(1_000); // let stragglers catch up before the next round
        }
        await sleep(opts.settleMs);
      }
      return { samples, failures };
    },
    async footprint(requests) {
      const alive = stack.proxies.slice(0, running);
      const meter = cpuMeter(alive[0]!.pid);
      let status = 0;
      await prober.status(stack.proxyUrl(0)); // warm: connection, verified-token cache
      const before = meter?.() ?? Number.NaN;
      for (let i = 0; i < requests; i++) status = (await prober.status(stack.proxyUrl(0))).value;
      const cpu = (meter?.() ?? Number.NaN) - before;
      return { rssMiB: alive.map((p) => rssMiB(p.pid)), cpuUsPerRequest: (cpu * 1000) / requests, status };
    },
    // Through the real CLI, in its own process (as an operator would): one audited change each.
    async seedBulk(count) {
      return applyWithCli(api.url, api.token, seedPolicyYaml({ count, issuer: stack.issuer.url, roles: [BULK_ROLE], prefix: BULK_PREFIX }));
    },
    async removeBulk() {
      await applyWithCli(api.url, api.token, seedPolicyYaml({ count: 0, issuer: stack.issuer.url, roles: [BULK_ROLE], prefix: BULK_PREFIX }));
    },
    async settle(timeoutMs) {
      const t0 = performance.now();
      const data = await api.call<{ snapshot: { version: string } }>(`{ snapshot { version } }`);
      const version = BigInt(data.snapshot.version);
      lastVersion = version;
      await tracker.waitAll(Array.from({ length: running }, (_, i) => `proxy-${i + 1}`), version, timeoutMs);
      return { version, ms: performance.now() - t0 };
    },
    stop: parts.stop,
  };
}

/** Watch-client log that keeps only problems (a bench fleet would otherwise print a line per apply). */
const problemsOnly: SyncLog = (level, msg, fields) => {
  if (level === "warn" || level === "error") jsonLineLog(level, msg, fields);
};

/** In-process proxies: watch clients that compile and swap like a proxy, without serving HTTP. */
export interface InProcessFleet {
  /** Tracker names ("inproc-1", …). */
  readonly members: string[];
  stop(): Promise<void>;
}

/**
 * Starts `count` watch clients in this process, each with its own `SnapshotStore`
 * (`proxyStateCompiler`, and a disk copy when `persistDir` is given, as a proxy keeps) and
 * its own gRPC channel; `onApplied` feeds the tracker. Resolves once every one has a snapshot.
 */
export async function startInProcessFleet(opts: {
  count: number;
  address: string;
  proxyToken: string;
  tracker: AppliedTracker;
  persistDir?: string;
  timeoutMs?: number;
}): Promise<InProcessFleet> {
  const members = Array.from({ length: opts.count }, (_, i) => `inproc-${i + 1}`);
  const stores: Array<SnapshotStore<ProxyState>> = [];
  const watches: WatchHandle[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(watches.map((w) => w.stop()));
  };
  for (const member of members) {
    const store = new SnapshotStore<ProxyState>({
      compile: proxyStateCompiler({ allowHttp: "loopback" }),
      ...(opts.persistDir ? { diskPath: join(opts.persistDir, member, "snapshot.bin") } : {}),
    });
    stores.push(store);
    watches.push(
      startWatch({
        address: opts.address,
        proxyId: member,
        proxyToken: opts.proxyToken,
        advertisedAddress: `in-process/${member}`,
        store,
        onApplied: (version) => opts.tracker.record(member, version),
        log: problemsOnly,
      }),
    );
  }
  const deadline = performance.now() + (opts.timeoutMs ?? 30_000);
  while (stores.some((s) => s.current() === undefined)) {
    if (performance.now() > deadline) {
      await stop();
      throw new Error("in-process watch clients got no snapshot in time");
    }
    await sleep(20);
  }
  return { members, stop };
}
