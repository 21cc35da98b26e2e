import { randomBytes } from "node:crypto";
import { create, toJson } from "@bufbuild/protobuf";
import { SnapshotSchema, type Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { updateConnection } from "../admin/connections.js";
import { updateIdentityProvider } from "../admin/identity-providers.js";
import { updateMaskingProfile } from "../admin/masking-profiles.js";
import { updatePolicy } from "../admin/policies.js";
import { bindRoleToGroup, bindRoleToIdentity } from "../admin/role-bindings.js";
import { createRole, updateRole } from "../admin/roles.js";
import type { AdminDeps } from "../admin/deps.js";
import { principal } from "../auth/principal.js";
import { SCOPES } from "../auth/scopes.js";
import { SecretBox } from "../secrets.js";
import { openStore, type Db, type Store } from "../store/client.js";
import { bumpSnapshotVersion } from "../store/snapshot-version.js";
import { applyBenchPolicy, BENCH_ISSUER } from "../../bench/lib/snapshot-seed.js";
import { buildSnapshot } from "./compile.js";
import { bindingResourceKey, createSnapshotBuilder } from "./incremental.js";
import { SnapshotPublisher } from "./publisher.js";
import { startSnapshotRefresher, type SnapshotRefresher } from "./refresher.js";

/**
 * Narrowed builds (change-hints.ts): after a commit of this process, the builder re-reads
 * only the collections the commit's audit rows name, yet the published snapshot equals a
 * full build after every write, in a random sequence of writes of every kind (hinted ones,
 * role and binding writes, writes that bump no version, another replica's bump).
 */
const normal = (s: Snapshot) =>
  toJson(SnapshotSchema, create(SnapshotSchema, { ...s, createdAtMs: 0n, roleBindings: [...s.roleBindings].sort((a, b) => (bindingResourceKey(a) < bindingResourceKey(b) ? -1 : 1)) }));

/** A db whose build transactions record which model delegates they touched. */
function countingDb(db: Db, touched: string[]): Db {
  return new Proxy(db, {
    get(target, prop) {
      if (prop !== "$transaction") return Reflect.get(target, prop) as unknown;
      return (fn: (tx: unknown) => Promise<unknown>, opts: unknown) =>
        (target.$transaction as (f: (tx: object) => Promise<unknown>, o: unknown) => Promise<unknown>)(
          (tx) => fn(new Proxy(tx, { get: (t, p) => (typeof p === "string" && !p.startsWith("$") && touched.push(p), Reflect.get(t, p) as unknown) })),
          opts,
        );
    },
  });
}

const NARROW = ["identityProvider", "policy", "connection", "maskingProfile", "role"];

withTestDatabases((db) => {
  let store: Store;
  let refresher: SnapshotRefresher;
  const publisher = new SnapshotPublisher();
  const touched: string[] = [];
  const secrets = SecretBox.fromBase64(randomBytes(32).toString("base64"));
  const keys = () => ({ assertionKey: "k", gatewayKeys: [] });
  const by = principal("bootstrap", "test", SCOPES);
  let deps: AdminDeps;

  beforeAll(async () => {
    store = await openStore(db.url);
    await applyBenchPolicy(store.prisma, secrets);
    refresher = startSnapshotRefresher({ db: store.prisma, publisher, build: createSnapshotBuilder(countingDb(store.prisma, touched), db.provider, secrets, keys), pollMs: 3_600_000 });
    await refresher.refresh();
    deps = { db: store.prisma, secrets, refreshSnapshot: refresher.refresh, allowHttpIssuers: "never" };
  });
  afterAll(async () => {
    refresher?.stop();
    await store?.close();
  });

  const expectFull = async (what: string) => {
    const truth = await buildSnapshot(store.prisma, secrets, keys);
    expect({ what, snapshot: normal(publisher.current()!) }).toEqual({ what, snapshot: normal(truth) });
  };
  const narrowTouched = () => NARROW.filter((m) => touched.includes(m)).sort();

  test("a change re-reads only the collections its models appear in (a policy change not even the roles)", async () => {
    const policy = (await store.prisma.policy.findFirst({ where: { name: "p0-all" } }))!;
    touched.length = 0;
    await updatePolicy(deps, by, policy.id, { graphs: ["only-this"] });
    expect(narrowTouched()).toEqual(["policy"]);
    await expectFull("policy");

    const connection = (await store.prisma.connection.findFirst({ where: { name: "lg-b" } }))!;
    touched.length = 0;
    await updateConnection(deps, by, connection.id, { baseUrl: "http://127.0.0.1:9/changed" });
    expect(narrowTouched()).toEqual(["connection"]);
    await expectFull("connection");

    touched.length = 0;
    await bindRoleToGroup(deps, by, { role: "bench-role-2", issuer: BENCH_ISSUER, group: "hinted" });
    expect(narrowTouched()).toEqual(["role"]);
    await expectFull("binding");

    touched.length = 0;
    const role = (await store.prisma.role.findUnique({ where: { name: "bench-role-2" } }))!;
    await updateRole(deps, by, role.id, { name: "bench-role-2b" });
    expect(narrowTouched()).toEqual(["policy", "role"]);
    await expectFull("role rename");

    // A version this process did not write (another replica): everything is read.
    await bumpSnapshotVersion(store.prisma);
    touched.length = 0;
    await refresher.refresh();
    expect(narrowTouched()).toEqual([...NARROW].sort());
  }, 60_000);

  test("a random sequence of writes: every published snapshot equals a full build", async () => {
    let seed = 18;
    // (High bits: the low bits of this generator cycle quickly.)
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), Math.floor((seed / 2 ** 31) * n));
    const policies = await store.prisma.policy.findMany();
    const connections = await store.prisma.connection.findMany();
    const profile = (await store.prisma.maskingProfile.findFirst())!;
    const provider = (await store.prisma.identityProvider.findFirst())!;
    let roles = 0;
    const writes: Array<[string, () => Promise<unknown>]> = [
      ["policy", () => updatePolicy(deps, by, policies[rnd(policies.length)]!.id, { graphs: [`g${rnd(1000)}`], maskRequests: rnd(2) === 0 })],
      ["connection", () => updateConnection(deps, by, connections[rnd(connections.length)]!.id, { connectTimeoutMs: 1000 + rnd(1000) })],
      ["profile", () => updateMaskingProfile(deps, by, profile.id, { rules: [{ kind: "key", match: `k${rnd(100)}`, style: "redact" }] })],
      ["provider", () => updateIdentityProvider(deps, by, provider.id, { audiences: [`aud-${rnd(100)}`] })],
      ["role + binding", async () => (await createRole(deps, by, { name: `r${++roles}` }), bindRoleToGroup(deps, by, { role: `r${roles}`, issuer: BENCH_ISSUER, group: `grp${rnd(50)}` }))],
      ["rename a role with policies", async () => updateRole(deps, by, (await store.prisma.role.findFirst({ where: { name: { startsWith: "bench-role-1" } } }))!.id, { name: `bench-role-1-${rnd(1e6)}` })],
      ["identity binding, suspended without a version bump, then a policy write", async () => {
        const subject = `u${rnd(1e6)}`;
        await bindRoleToIdentity(deps, by, { role: "bench-role-0", identity: { issuer: BENCH_ISSUER, subject } });
        await store.prisma.identity.updateMany({ where: { subject }, data: { status: "suspended" } });
        // Only a versioned write publishes; a policy-only one must still see the suspension.
        await updatePolicy(deps, by, policies[0]!.id, { graphs: [`after-${subject}`] });
      }],
      ["another replica's policy write", async () => {
        await store.prisma.$transaction(async (tx) => (await tx.policy.update({ where: { id: policies[0]!.id }, data: { pseudonymScope: `s${rnd(100)}` } }), await bumpSnapshotVersion(tx)));
        await refresher.refresh();
      }],
    ];
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const [what, write] = writes[rnd(writes.length)]!;
      await write();
      await expectFull(`${i}: ${what}`);
      seen.add(what);
    }
    expect(seen.size).toBe(writes.length);
  }, 120_000);
});
