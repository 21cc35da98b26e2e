/**
 * A role's bindings as a policy file lists them, applied in bulk: the same checks as
 * bindRoleToGroup / bindRoleToIdentity / deleteRoleBinding (bindingTargetProblems: issuer URL,
 * group text, identity reference; who may change a reserved role), but set-wise — one read of the
 * role's bindings, `deleteMany` and multi-row INSERTs in chunks — so 100,000 bindings cost a few
 * dozen statements instead of 300,000 (bulk-insert.ts). Used when a role's diff is larger than
 * {@link BULK_BINDING_THRESHOLD}; smaller diffs go binding by binding through the services
 * (one audit row each). A bulk diff is ONE audit entry per role (counts, a digest of the
 * resulting set and a sample of what changed): 100,000 audit rows would be unreadable.
 */
import { createHash } from "node:crypto";
import type { Principal } from "../auth/principal.js";
import type { Tx } from "../store/client.js";
import type { AuditEntry } from "../admin/change-log.js";
import { assertMayChangeReservedRole } from "../admin/roles.js";
import { bindingTargetProblems } from "../admin/role-bindings.js";
import { insertRows } from "./bulk-insert.js";

/** A binding as a policy file writes it: an issuer and exactly one of group or subject. */
export interface FileBinding {
  readonly issuer: string;
  readonly group?: string | undefined;
  readonly subject?: string | undefined;
}

/** A role's diff with more changes than this is applied set-wise (one audit entry). */
export const BULK_BINDING_THRESHOLD = 100;
/** Values per `IN (...)` list: Prisma refuses more than 999 parameters per query on SQLite. */
export const BULK_CHUNK = 900;
/** How many changed bindings a bulk audit entry lists by name (the rest are counted). */
const AUDIT_SAMPLE = 20;

/** The file's and the database's bindings compared under one key ("group <issuer> <group>"). */
export function bindingKey(b: { issuer: string; group?: string | null | undefined; subject?: string | null | undefined }): string {
  return b.subject ? `subject ${b.issuer} ${b.subject}` : `group ${b.issuer} ${b.group}`;
}

/** Problems of one binding, worded as the services word them. */
export function fileBindingProblems(b: FileBinding): string[] {
  return b.subject !== undefined ? bindingTargetProblems({ identity: { issuer: b.issuer, subject: b.subject } }) : bindingTargetProblems({ issuer: b.issuer, group: b.group ?? "" });
}

/** An existing binding of the role: its row id and its key. */
export interface ExistingBinding {
  readonly id: string;
  readonly key: string;
}

/** What {@link applyBulkBindings} changed. */
export interface BulkResult {
  readonly created: number;
  readonly deleted: number;
  readonly audit: AuditEntry;
}

async function inChunks<T>(rows: readonly T[], run: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += BULK_CHUNK) await run(rows.slice(i, i + BULK_CHUNK));
}

/** Ids of the identities named by `refs` (issuer, subject), creating the missing ones as resolveIdentity does. */
async function identityIds(tx: Tx, refs: readonly FileBinding[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const byIssuer = new Map<string, string[]>();
  for (const r of refs) {
    const list = byIssuer.get(r.issuer);
    if (list) list.push(r.subject!);
    else byIssuer.set(r.issuer, [r.subject!]);
  }
  for (const [issuer, subjects] of byIssuer) {
    const find = (chunk: string[]) =>
      tx.identity.findMany({ where: { issuer, subject: { in: chunk } }, select: { id: true, subject: true } }).then((rows) => {
        for (const row of rows) ids.set(bindingKey({ issuer, subject: row.subject }), row.id);
      });
    await inChunks(subjects, find);
    const missing = subjects.filter((subject) => !ids.has(bindingKey({ issuer, subject })));
    const created = await insertRows(tx, "Identity", ["issuer", "subject"], missing.map((subject) => [issuer, subject]));
    missing.forEach((subject, i) => ids.set(bindingKey({ issuer, subject }), created[i]!));
  }
  return ids;
}

/** sha256 over the sorted keys: lets an auditor check a role's binding set against the entry. */
function setDigest(keys: Iterable<string>): string {
  const hash = createHash("sha256");
  for (const key of [...keys].sort()) hash.update(key).update("\n");
  return hash.digest("hex");
}

/**
 * Makes role `role`'s bindings exactly `wanted` (already checked with
 * {@link fileBindingProblems}) inside `tx`: deletes `remove`, creates `add`. The caller
 * has computed the diff; the reserved-role check runs here, as in the services.
 */
export async function applyBulkBindings(
  tx: Tx,
  by: Principal,
  role: { id: string; name: string },
  diff: { add: readonly FileBinding[]; remove: readonly ExistingBinding[]; resulting: Iterable<string> },
): Promise<BulkResult> {
  assertMayChangeReservedRole(by, role.name);
  await inChunks(diff.remove, (chunk) => tx.roleBinding.deleteMany({ where: { id: { in: chunk.map((b) => b.id) }, roleId: role.id } }));
  const groups = diff.add.filter((b) => b.subject === undefined);
  await insertRows(tx, "RoleBinding", ["roleId", "issuer", "group"], groups.map((b) => [role.id, b.issuer, b.group!]));
  const subjects = diff.add.filter((b) => b.subject !== undefined);
  const ids = await identityIds(tx, subjects);
  await insertRows(tx, "RoleBinding", ["roleId", "identityId"], subjects.map((b) => [role.id, ids.get(bindingKey(b))!]));
  const resulting = [...diff.resulting];
  const audit: AuditEntry = {
    action: "role.bindings.replace",
    target: `Role:${role.id}`,
    after: {
      role: role.name,
      bindings: resulting.length,
      sha256: setDigest(resulting),
      created: diff.add.length,
      deleted: diff.remove.length,
      createdSample: diff.add.slice(0, AUDIT_SAMPLE).map(bindingKey),
      deletedSample: diff.remove.slice(0, AUDIT_SAMPLE).map((b) => b.key),
    },
  };
  return { created: diff.add.length, deleted: diff.remove.length, audit };
}
