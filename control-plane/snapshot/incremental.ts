/**
 * Builds each new snapshot from the previous one instead of from scratch (issue 18): the
 * small collections (providers, policies, connections, profiles, grants, suspensions) are
 * re-read whole — a few rows — but role bindings, the one collection that grows to
 * 100,000s, are re-read only for the roles whose bindings changed, and the change comes out
 * as a {@link BindingDelta} the publisher sends to proxies instead of the whole snapshot.
 *
 * Which roles changed: each role's `bindingsRevision`, which a database trigger bumps on
 * every insert, update or delete of one of its bindings, whatever the path (the API, the
 * bulk policy file's raw SQL, cascades from a deleted identity) — compared with the
 * previous build's, together with the role's name (which every binding of the role
 * carries). Exact: no write can leave a role's revision unchanged. On PostgreSQL the build
 * reads in one REPEATABLE READ transaction, so the version, the revisions and the re-read
 * bindings are one consistent view.
 */
import type { RoleBinding, Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { SecretBox } from "../secrets.js";
import type { Db, StoreProvider } from "../store/client.js";
import { BINDING_SELECT, BUILD_TIMEOUT_MS, bindingOf, readRest, snapshotOf, type KeySource } from "./compile.js";

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

/**
 * Every role's bindings in one list. Hand-written: `flatMap` took 170–380 ms for 500,000
 * bindings, on every change (issue 18: the control plane's share of a round at 500,000).
 */
function allBindings(roles: ReadonlyMap<string, RoleState>): RoleBinding[] {
  let total = 0;
  for (const r of roles.values()) total += r.bindings.length;
  const out = new Array<RoleBinding>(total);
  let i = 0;
  for (const r of roles.values()) for (const b of r.bindings) out[i++] = b;
  return out;
}

/** A builder that remembers the previous build; `build` never runs twice at once (the refresher serializes it). */
export function createSnapshotBuilder(db: Db, provider: StoreProvider, secrets: SecretBox, keys: KeySource): () => Promise<BuiltSnapshot> {
  // `bindings`: the previous snapshot's list, shared by the next one when no role's bindings changed.
  let previous: { version: bigint; roles: Map<string, RoleState>; bindings: RoleBinding[] } | undefined;
  return async () => {
    const now = new Date();
    const read = await db.$transaction(
      async (tx) => {
        const rest = await readRest(tx, now);
        const roles = await tx.role.findMany({ select: { id: true, name: true, bindingsRevision: true } });
        const names = new Map(roles.map((r) => [r.id, r.name]));
        const fingerprints = new Map(roles.map((r) => [r.id, `${r.bindingsRevision}|${r.name}`]));
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
    for (const [id, state] of previous?.roles ?? []) if (!roles.has(id)) for (const b of state.bindings) removed.push(b); // (no spread: 100,000s of arguments)

    // No binding added or removed (most changes: a policy, a connection, a grant, a new empty
    // role): the previous list is the same set, reused — O(1) instead of O(bindings) per change.
    const unchanged = previous !== undefined && added.length === 0 && removed.length === 0;
    const bindings = unchanged ? previous!.bindings : allBindings(roles);
    const snapshot = snapshotOf(read.rest, bindings, secrets, keys, now);
    const delta = previous === undefined ? undefined : { baseVersion: previous.version, added, removed };
    previous = { version: snapshot.version, roles, bindings };
    return delta === undefined ? { snapshot } : { snapshot, delta };
  };
}
