import { randomBytes } from "node:crypto";
import type { RoleBinding } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { bindRoleToGroup, bindRoleToIdentity, deleteRoleBinding } from "../admin/role-bindings.js";
import { createRole, deleteRole, updateRole } from "../admin/roles.js";
import { principal } from "../auth/principal.js";
import { SCOPES } from "../auth/scopes.js";
import { applyPolicyDocument } from "../policy-file/apply.js";
import { policyDocument } from "../policy-file/document.js";
import { SecretBox } from "../secrets.js";
import { openStore, type Store } from "../store/client.js";
import { buildSnapshot } from "./compile.js";
import { bindingResourceKey, createSnapshotBuilder } from "./incremental.js";

/**
 * The incremental builder against the database, on both providers: after every kind of
 * write that can change bindings (bind, unbind, rename a role, delete a role, a bulk policy
 * file, a write that touches no binding), its snapshot holds exactly the bindings of a
 * full build, and the previous build's bindings plus its delta are the new ones.
 */
const ISSUER = "https://idp.example";
const keys = (list: readonly RoleBinding[]) => list.map(bindingResourceKey).sort();

withTestDatabases((db) => {
  let store: Store;
  const secrets = SecretBox.fromBase64(randomBytes(32).toString("base64"));
  const snapshotKeys = () => ({ assertionKey: "k", gatewayKeys: [] });
  const by = principal("bootstrap", "test", SCOPES);
  const deps = () => ({ db: store.prisma, secrets, refreshSnapshot: async () => {}, allowHttpIssuers: "never" as const });

  beforeAll(async () => {
    store = await openStore(db.url);
  });
  afterAll(async () => {
    await store?.close();
  });

  test("every binding-changing write comes out as the exact delta", async () => {
    const build = createSnapshotBuilder(store.prisma, db.provider, secrets, snapshotKeys);
    let previous = (await build()).snapshot;
    const bulk = (n: number, offset = 0) =>
      applyPolicyDocument(deps(), by, policyDocument({ roles: [{ name: "bulk", bindings: Array.from({ length: n }, (_, i) => ({ issuer: ISSUER, group: `g${i + offset}` })) }] }));
    const writes: Array<[string, () => Promise<unknown>]> = [
      ["create roles", async () => (await createRole(deps(), by, { name: "a" }), await createRole(deps(), by, { name: "b" }))],
      ["bind group", () => bindRoleToGroup(deps(), by, { role: "a", issuer: ISSUER, group: "devs" })],
      ["bind identity", () => bindRoleToIdentity(deps(), by, { role: "b", identity: { issuer: ISSUER, subject: "alice" } })],
      ["bind the same group to b", () => bindRoleToGroup(deps(), by, { role: "b", issuer: ISSUER, group: "devs" })],
      ["bulk 300", () => bulk(300)],
      ["bulk: replace 150 (same count)", () => bulk(300, 150)],
      ["unbind", async () => deleteRoleBinding(deps(), by, (await store.prisma.roleBinding.findFirst({ where: { role: { name: "a" } } }))!.id)],
      ["unbind + bind in one file (same count)", () => applyPolicyDocument(deps(), by, policyDocument({ roles: [{ name: "b", bindings: [{ issuer: ISSUER, subject: "alice" }, { issuer: ISSUER, group: "ops" }] }] }))],
      ["identity deleted: its bindings go by cascade", () => store.prisma.identity.delete({ where: { issuer_subject: { issuer: ISSUER, subject: "alice" } } })],
      // What the old per-role aggregate (count, smallest/largest id, newest createdAt) missed:
      // a delete and an insert in one change that keep all four equal. The trigger does not.
      ["delete + insert inside the bounds, same count (raw SQL)", () => swapInside("bulk")],
      ["rename b", async () => updateRole(deps(), by, (await store.prisma.role.findUnique({ where: { name: "b" } }))!.id, { name: "b2" })],
      ["no binding touched", () => createRole(deps(), by, { name: "c" })],
      ["delete b2", async () => deleteRole(deps(), by, (await store.prisma.role.findUnique({ where: { name: "b2" } }))!.id)],
      ["bulk to 0", () => bulk(0)],
    ];
    async function swapInside(role: string): Promise<void> {
      const rows = await store.prisma.roleBinding.findMany({ where: { role: { name: role } }, orderBy: { id: "asc" } });
      const [low, victim, high] = [rows[0]!, rows[1]!, rows[2]!];
      // An id between the two it replaces, an old createdAt: no aggregate moves.
      const id = victim.id.slice(0, -1) + (victim.id.endsWith("f") ? "e" : "f");
      expect(id > low.id && id < high.id).toBe(true);
      await store.prisma.$transaction([
        store.prisma.$executeRaw`DELETE FROM "RoleBinding" WHERE "id" = ${victim.id}`,
        store.prisma.roleBinding.create({ data: { id, roleId: victim.roleId, issuer: ISSUER, group: "swapped-in", createdAt: victim.createdAt } }),
      ]);
    }
    for (const [what, write] of writes) {
      await write();
      const built = await build();
      const truth = await buildSnapshot(store.prisma, secrets, snapshotKeys);
      expect({ what, bindings: keys(built.snapshot.roleBindings) }).toEqual({ what, bindings: keys(truth.roleBindings) });
      expect(built.delta?.baseVersion).toBe(previous.version);
      const removed = new Set(built.delta!.removed.map(bindingResourceKey));
      const replayed = [...previous.roleBindings.filter((b) => !removed.has(bindingResourceKey(b))), ...built.delta!.added];
      expect({ what, bindings: keys(replayed) }).toEqual({ what, bindings: keys(truth.roleBindings) });
      if (what === "no binding touched") {
        expect(built.delta!.added.length + built.delta!.removed.length).toBe(0);
        expect(built.snapshot.roleBindings).toBe(previous.roleBindings); // O(1): the list is shared, not rebuilt
      }
      previous = built.snapshot;
    }
  }, 120_000);
});
