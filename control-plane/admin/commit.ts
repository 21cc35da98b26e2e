/**
 * The one way an admin service writes: validate first (in the service), then run the
 * write, the snapshot version bump and the audit rows in ONE transaction, then publish.
 * A failed write leaves nothing behind, not even a burnt version or an orphan audit row.
 */
import { PrismaClientKnownRequestError } from "@prisma/client/runtime/client";
import { log } from "../../common/observability/log.js";
import { CpError } from "../errors.js";
import type { Tx } from "../store/client.js";
import { bumpSnapshotVersion } from "../store/snapshot-version.js";
import { modelOfTarget } from "../snapshot/change-hints.js";
import { writeAudit, type AuditEntry } from "./change-log.js";
import type { AdminDeps, Batch } from "./deps.js";

/** What a write produced inside its transaction: the result and what to audit. */
export interface Change<T> {
  readonly value: T;
  /** Empty when nothing changed: then no version is bumped and nothing is audited. */
  readonly audit: readonly AuditEntry[];
}

/** A committed write: its result and the snapshot version that carries it (null: none). */
export interface Committed<T> {
  readonly value: T;
  readonly snapshotVersion: bigint | null;
}

/** Whether a write changes what proxies enforce (bumps the snapshot version) or only the admin state. */
export type ChangeKind = "policy" | "admin";

/**
 * Runs `work` in a transaction; when it audited something, bumps the snapshot version (for
 * policy changes) and writes the audit rows in that same transaction; after the commit,
 * publishes the new snapshot. Database constraint errors become typed errors.
 */
export async function commitChange<T>(deps: AdminDeps, actor: string, kind: ChangeKind, work: (tx: Tx) => Promise<Change<T>>): Promise<Committed<T>> {
  if (deps.batch) {
    // Inside a batch (a policy file): same checks and audit rows, one transaction for all.
    const change = await work(deps.batch.tx);
    deps.batch.audits.push(...change.audit);
    return { value: change.value, snapshotVersion: null };
  }
  let committed: Committed<T>;
  let models: string[] = [];
  try {
    committed = await deps.db.$transaction(
      async (tx) => {
        const change = await work(tx);
        const version = kind === "policy" && change.audit.length > 0 ? await bumpSnapshotVersion(tx) : null;
        await writeAudit(tx, actor, change.audit, version);
        models = change.audit.map((e) => modelOfTarget(e.target));
        return { value: change.value, snapshotVersion: version };
      },
      { timeout: 15_000 },
    );
  } catch (err) {
    throw constraintError(err);
  }
  if (committed.snapshotVersion !== null) {
    // The write stands even if publishing fails now: the refresher's poll publishes it later.
    // The models it audited let the build re-read only what changed (change-hints.ts).
    await deps.refreshSnapshot({ version: committed.snapshotVersion, models }).catch((err: unknown) => log.error("snapshot refresh after admin write failed", { err }));
  }
  return committed;
}

class DryRunRollback<T> extends Error {
  constructor(readonly committed: Committed<T>) {
    super("dry run");
  }
}

/**
 * Runs several service writes as ONE policy change: `work` gets deps whose services write
 * into this transaction (with all their checks); then one version bump, the audit rows of
 * every write, one publish. With `dryRun` everything runs and is rolled back, so a dry run
 * reports exactly what the real run would do, refusals included.
 * `timeoutMs` (default 60 s) bounds the transaction; size it by the work.
 */
export async function commitBatch<T>(deps: AdminDeps, actor: string, opts: { dryRun: boolean; timeoutMs?: number }, work: (batchDeps: AdminDeps) => Promise<T>): Promise<Committed<T>> {
  let committed: Committed<T>;
  let models: string[] = [];
  try {
    committed = await deps.db.$transaction(
      async (tx) => {
        const batch: Batch = { tx, audits: [] };
        const value = await work({ ...deps, batch });
        const version = batch.audits.length > 0 ? await bumpSnapshotVersion(tx) : null;
        await writeAudit(tx, actor, batch.audits, version);
        if (opts.dryRun) throw new DryRunRollback({ value, snapshotVersion: version });
        models = batch.audits.map((e) => modelOfTarget(e.target));
        return { value, snapshotVersion: version };
      },
      // The caller sizes the timeout by its work (a policy file: by its bindings).
      { timeout: opts.timeoutMs ?? 60_000 },
    );
  } catch (err) {
    if (err instanceof DryRunRollback) return err.committed as Committed<T>;
    throw constraintError(err);
  }
  if (committed.snapshotVersion !== null) {
    await deps.refreshSnapshot({ version: committed.snapshotVersion, models }).catch((err: unknown) => log.error("snapshot refresh after admin write failed", { err }));
  }
  return committed;
}

/**
 * Database errors that a caller can cause, as typed errors. Services check names and
 * references first to give precise messages; these are the backstop for races (two
 * admins creating the same name at once).
 */
function constraintError(err: unknown): unknown {
  if (!(err instanceof PrismaClientKnownRequestError)) return err;
  switch (err.code) {
    case "P2002":
      return new CpError("CONFLICT", "an object with this name already exists", [], { cause: err });
    case "P2003":
    case "P2014":
      return new CpError("CONFLICT", "the object is still referenced by another one", [], { cause: err });
    case "P2025":
      return new CpError("NOT_FOUND", "object not found", [], { cause: err });
    default:
      return err;
  }
}
