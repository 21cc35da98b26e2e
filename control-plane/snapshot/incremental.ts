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
import { join, sqltag as sql } from "@prisma/client/runtime/client";
import type { Tx } from "../store/client.js";
import { BUILD_TIMEOUT_MS, bindingOf, readRest, readRestChanged, readVersionRow, snapshotOf, type KeySource, type RestRows } from "./compile.js";
import type { ChangeHints } from "./change-hints.js";

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

/**
 * A set of bindings by resource identity (as {@link bindingResourceKey}), held as nested
 * maps of the bindings' own strings — role, issuer, then the group or subject name — instead
 * of one concatenated key per binding: building and hashing 200,000 template keys made a
 * diff of a 100,000-binding role cost ~1 s (issue 18: one binding added to a large role).
 */
class BindingSet {
  readonly #scopes = new Map<string, Map<string, { groups: Set<string>; subjects: Set<string>; other: Set<string> }>>();

  constructor(bindings: readonly RoleBinding[]) {
    for (const b of bindings) {
      let issuers = this.#scopes.get(b.role);
      if (issuers === undefined) this.#scopes.set(b.role, (issuers = new Map()));
      let slot = issuers.get(b.issuer);
      if (slot === undefined) issuers.set(b.issuer, (slot = { groups: new Set(), subjects: new Set(), other: new Set() }));
      BindingSet.#into(slot, b).add(BindingSet.#name(b));
    }
  }

  // A binding names a group or a subject; anything else (both, neither) by its whole key.
  static #into(slot: { groups: Set<string>; subjects: Set<string>; other: Set<string> }, b: RoleBinding): Set<string> {
    if (b.subject === "" && b.group !== "") return slot.groups;
    if (b.group === "" && b.subject !== "") return slot.subjects;
    return slot.other;
  }

  static #name(b: RoleBinding): string {
    if (b.subject === "" && b.group !== "") return b.group;
    if (b.group === "" && b.subject !== "") return b.subject;
    return bindingResourceKey(b);
  }

  has(b: RoleBinding): boolean {
    const slot = this.#scopes.get(b.role)?.get(b.issuer);
    return slot !== undefined && BindingSet.#into(slot, b).has(BindingSet.#name(b));
  }
}

/** The differences between two binding lists, by resource key, appended to `added` / `removed`. */
export function diffBindings(before: readonly RoleBinding[], after: readonly RoleBinding[], added: RoleBinding[], removed: RoleBinding[]): void {
  const old = new BindingSet(before);
  const now = new BindingSet(after);
  for (const b of after) if (!old.has(b)) added.push(b);
  for (const b of before) if (!now.has(b)) removed.push(b);
}

interface BindingRow {
  roleId: string;
  issuer: string | null;
  group: string | null;
  identityIssuer: string | null;
  identitySubject: string | null;
}

/**
 * The bindings of `roleIds` (names from `names`), by role, as RoleBinding messages. One
 * joined SELECT per chunk of roles, the same SQL on both databases: Prisma's relation loading
 * (`role` and `identity` selected per binding) took 2.2 s for a 100,000-binding role, this
 * 0.3–0.45 s (issue 18: one binding added to a large role re-reads the role). Same content as
 * `bindingOf` on BINDING_SELECT rows (compile.ts): an identity binding takes the identity's
 * issuer and subject.
 */
async function readRoleBindings(tx: Tx, roleIds: readonly string[], names: ReadonlyMap<string, string>): Promise<Map<string, RoleBinding[]>> {
  const fresh = new Map<string, RoleBinding[]>(roleIds.map((id) => [id, []]));
  for (let i = 0; i < roleIds.length; i += ROLE_CHUNK) {
    const rows = await tx.$queryRaw<BindingRow[]>(sql`
      SELECT b."roleId" AS "roleId", b."issuer" AS "issuer", b."group" AS "group", i."issuer" AS "identityIssuer", i."subject" AS "identitySubject"
      FROM "RoleBinding" b LEFT JOIN "Identity" i ON i."id" = b."identityId"
      WHERE b."roleId" IN (${join(roleIds.slice(i, i + ROLE_CHUNK))})`);
    for (const row of rows) {
      const identity = row.identitySubject !== null ? { issuer: row.identityIssuer ?? "", subject: row.identitySubject } : null;
      fresh.get(row.roleId)!.push(bindingOf({ issuer: row.issuer, group: row.group, role: { name: names.get(row.roleId) ?? "" }, identity }));
    }
  }
  return fresh;
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

/**
 * A builder that remembers the previous build; `build` never runs twice at once (the
 * refresher serializes it). With `hints` (what this process's commits changed, by version),
 * collections no version since the previous build touched are taken from that build
 * instead of re-read: a policy update reads the version, the policies, the volatile rows
 * and the role revisions — 5 queries instead of 8.
 */
export function createSnapshotBuilder(db: Db, provider: StoreProvider, secrets: SecretBox, keys: KeySource): (hints?: ChangeHints) => Promise<BuiltSnapshot> {
  // `bindings`: the previous snapshot's list, shared by the next one when no role's bindings changed.
  let previous: { version: bigint; roles: Map<string, RoleState>; bindings: RoleBinding[]; rest: RestRows } | undefined;
  return async (hints) => {
    const now = new Date();
    const read = await db.$transaction(
      async (tx) => {
        const version = await readVersionRow(tx);
        const changed = previous !== undefined && version !== null ? hints?.changedBetween(previous.version, version.version) : undefined;
        const rest = changed === undefined ? await readRest(tx, now, version) : await readRestChanged(tx, now, version, previous!.rest, changed);
        // Only hinted writes that cannot touch a binding or a role since the previous build: its roles as they were.
        const roles = changed !== undefined && !changed.has("bindings")
          ? [...previous!.roles].map(([id, r]) => ({ id, name: r.name, fingerprint: r.fingerprint }))
          : (await tx.role.findMany({ select: { id: true, name: true, bindingsRevision: true } })).map((r) => ({ id: r.id, name: r.name, fingerprint: `${r.bindingsRevision}|${r.name}` }));
        const names = new Map(roles.map((r) => [r.id, r.name]));
        const fingerprints = new Map(roles.map((r) => [r.id, r.fingerprint]));
        const stale = [...fingerprints].filter(([id, print]) => previous?.roles.get(id)?.fingerprint !== print).map(([id]) => id);
        const fresh = await readRoleBindings(tx, stale, names);
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
    previous = { version: snapshot.version, roles, bindings, rest: read.rest };
    hints?.forget(snapshot.version);
    return delta === undefined ? { snapshot } : { snapshot, delta };
  };
}
