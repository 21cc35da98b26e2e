/**
 * What this process's own commits changed, by snapshot version, so the next build re-reads
 * only those collections (issue 18: a small change's build ran 8 queries whatever changed;
 * each costs ~1 ms of Prisma CPU on this machine). A hint is the models named by the
 * commit's audit rows (`<Model>:<id>`, change-log.ts), recorded after the commit.
 *
 * Fail-safe: a build narrows its reads only when EVERY version since the previous build has
 * a hint and every hinted model maps to collections below. A version without a hint (another
 * replica's write, a spent grant, a key-generation bump, a commit whose hint arrived late)
 * or an unknown model means a full read. Only models that nothing but the admin services
 * write, through a version-bumping commit, are listed; the collections that can change
 * without a hint (grants: uses decremented, expiry; suspensions; role bindings, whose
 * revisions the builder compares anyway) are always re-read by the builder.
 */

/** The small collections a build may skip when unchanged. */
export type RestCollection = "providers" | "policies" | "connections" | "profiles";
/** Those, and the role bindings (when none can have changed, not even the roles' revisions are read). */
export type NarrowCollection = RestCollection | "bindings";

// Model → collections its writes can change ("bindings": the roles' revisions are compared
// and changed roles re-read, as on every full build). A role's name is in its policies and
// its bindings; an identity's bindings go with it (cascade), its suspension is read anyway.
// A provider write re-reads the role revisions too, conservatively (bindings name issuers;
// no foreign key ties them today, and provider writes are rare). Models not listed (API
// tokens, approval requests, anything new) mean a full read.
const COLLECTIONS_OF: Readonly<Record<string, readonly NarrowCollection[]>> = {
  Policy: ["policies"],
  Connection: ["connections"],
  MaskingProfile: ["profiles"],
  IdentityProvider: ["providers", "bindings"],
  Role: ["policies", "bindings"],
  RoleBinding: ["bindings"],
  Identity: ["bindings"],
};

/** Bound on remembered versions (hints are dropped once built; this only caps a stuck builder). */
const MAX_HINTS = 1024;

/** A committed change as its writer knows it: the version it produced and the models it audited. */
export interface LocalChange {
  readonly version: bigint;
  readonly models: readonly string[];
}

/** The model of an audit target (`Policy:0193…` → `Policy`). */
export function modelOfTarget(target: string): string {
  const colon = target.indexOf(":");
  return colon < 0 ? target : target.slice(0, colon);
}

/** Hints by version, for the builder. */
export class ChangeHints {
  readonly #byVersion = new Map<bigint, readonly string[]>();

  record(change: LocalChange): void {
    if (this.#byVersion.size >= MAX_HINTS) this.#byVersion.clear(); // (only costs full reads)
    this.#byVersion.set(change.version, change.models);
  }

  /**
   * The collections that changed from `from` (exclusive) to `to` (inclusive), or undefined
   * when not known for every version in between (then everything must be read).
   */
  changedBetween(from: bigint, to: bigint): Set<NarrowCollection> | undefined {
    if (to - from > BigInt(MAX_HINTS)) return undefined;
    const changed = new Set<NarrowCollection>();
    for (let v = from + 1n; v <= to; v++) {
      const models = this.#byVersion.get(v);
      if (models === undefined || models.length === 0) return undefined;
      for (const model of models) {
        const collections = COLLECTIONS_OF[model];
        if (collections === undefined) return undefined;
        for (const c of collections) changed.add(c);
      }
    }
    return changed;
  }

  /** Drops hints of versions up to `version` (built). */
  forget(version: bigint): void {
    for (const v of this.#byVersion.keys()) if (v <= version) this.#byVersion.delete(v);
  }
}
