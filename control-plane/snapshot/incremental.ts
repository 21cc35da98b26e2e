/**
 * Builds each new snapshot from the previous one instead of from scratch (issue 18): the
 * small collections (providers, policies, connections, profiles, grants, suspensions) are
 * re-read whole — a few rows — but role bindings, the one collection that grows to
 * 100,000s, are re-read only for the roles whose bindings changed, and the change comes out
 * as a {@link BindingDelta} the publisher sends to proxies instead of the whole snapshot.
 *
 * Which roles changed: one aggregate per role — binding count, smallest and largest id,
 * newest createdAt — compared with the previous build's (and the role's name, which every
 * binding of the role carries). Binding rows are never updated, only created (new UUIDv7 id,
 * newer than every existing row) or deleted, so adding changes the count or the largest
 * id, deleting changes the count, and a delete + add in one change changes the largest id.
 * A delete + add that keeps all four equal would need the new row's id to sort below the
 * newest existing one: two UUIDv7s of the same millisecond, from two commits. On PostgreSQL
 * the build reads in one REPEATABLE READ transaction, so the version, the aggregates and
 * the re-read bindings are one consistent view.
 */
import type { RoleBinding, Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { SecretBox } from "../secrets.js";
import type { Db, StoreProvider } from "../store/client.js";
import { BINDING_SELECT, BUILD_TIMEOUT_MS, bindingOf, readRest, snapshotOf, type SnapshotKeys } from "./compile.js";

/** What changed in role bindings from `baseVersion` to the snapshot it comes with. */
export interface BindingDelta {
  readonly baseVersion: bigint;
  readonly added: readonly RoleBinding[];
  readonly removed: readonly RoleBinding[];
}

/** A built snapshot and, when the builder had the previous one, its delta from it. */
export interface BuiltSnapshot {
  readonly snapshot: Snapshot;
  readonly delta?: BindingDelta;
}

/** The identity of a binding resource: what proxies index it by. */
export function bindingResourceKey(b: RoleBinding): string {
  return `${b.role}\u0000${b.issuer}\u0000${b.group}\u0000${b.subject}`;
}

interface RoleState {
  readonly name: string;
  readonly fingerprint: string;
  readonly bindings: readonly RoleBinding[];
}

// Rows per `roleId IN (...)`: Prisma refuses more than 999 parameters per query on SQLite.
const ROLE_CHUNK = 500;

/** The differences between two binding lists, by resource key, appended to `added` / `removed`. */
export function diffBindings(before: readonly RoleBinding[], after: readonly RoleBinding[], added: RoleBinding[], removed: RoleBinding[]): void {
  const old = new Set(before.map(bindingResourceKey));
  const now = new Set(after.map(bindingResourceKey));
  for (const b of after) if (!old.has(bindingResourceKey(b))) added.push(b);
  for (const b of before) if (!now.has(bindingResourceKey(b))) removed.push(b);
}

/** A builder that remembers the previous build; `build` never runs twice at once (the refresher serializes it). */
export function createSnapshotBuilder(db: Db, provider: StoreProvider, secrets: SecretBox, keys: SnapshotKeys): () => Promise<BuiltSnapshot> {
  let previous: { version: bigint; roles: Map<string, RoleState> } | undefined;
  return async () => {
    const now = new Date();
    const read = await db.$transaction(
      async (tx) => {
        const rest = await readRest(tx, now);
        const [roles, prints] = [
          await tx.role.findMany({ select: { id: true, name: true } }),
          await tx.roleBinding.groupBy({ by: ["roleId"], _count: { _all: true }, _max: { id: true, createdAt: true }, _min: { id: true } }),
        ];
        const names = new Map(roles.map((r) => [r.id, r.name]));
        const fingerprints = new Map(prints.map((p) => [p.roleId, `${p._count._all}|${p._min.id}|${p._max.id}|${p._max.createdAt?.getTime()}|${names.get(p.roleId)}`]));
        const stale = [...fingerprints].filter(([id, print]) => previous?.roles.get(id)?.fingerprint !== print).map(([id]) => id);
        const fresh = new Map<string, RoleBinding[]>(stale.map((id) => [id, []]));
        for (let i = 0; i < stale.length; i += ROLE_CHUNK) {
          const rows = await tx.roleBinding.findMany({ where: { roleId: { in: stale.slice(i, i + ROLE_CHUNK) } }, select: { ...BINDING_SELECT, roleId: true } });
          for (const row of rows) fresh.get(row.roleId)!.push(bindingOf(row));
        }
        return { rest, names, fingerprints, fresh };
      },
      // (The store's types are the SQLite subset, which only knows Serializable.)
      { timeout: BUILD_TIMEOUT_MS, ...((provider === "postgresql" ? { isolationLevel: "RepeatableRead" } : {}) as object) },
    );

    const roles = new Map<string, RoleState>();
    const added: RoleBinding[] = [];
    const removed: RoleBinding[] = [];
    for (const [id, fingerprint] of read.fingerprints) {
      const bindings = read.fresh.get(id);
      if (bindings === undefined) {
        roles.set(id, previous!.roles.get(id)!);
        continue;
      }
      roles.set(id, { name: read.names.get(id) ?? "", fingerprint, bindings });
      diffBindings(previous?.roles.get(id)?.bindings ?? [], bindings, added, removed);
    }
    for (const [id, state] of previous?.roles ?? []) if (!roles.has(id)) removed.push(...state.bindings);

    const snapshot = snapshotOf(read.rest, [...roles.values()].flatMap((r) => r.bindings), secrets, keys, now);
    const delta = previous === undefined ? undefined : { baseVersion: previous.version, added, removed };
    previous = { version: snapshot.version, roles };
    return delta === undefined ? { snapshot } : { snapshot, delta };
  };
}
