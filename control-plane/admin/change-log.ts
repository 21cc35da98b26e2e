/**
 * How a write to the control plane is recorded, for every writer (GraphQL mutations and
 * policy files): the snapshot version bump and the AdminAudit rows, both inside the
 * writer's transaction so a rolled-back write leaves neither behind.
 */
import type { Tx } from "../store/client.js";

/** One audited change: what was done to which target, with the state before and after. */
export interface AuditEntry {
  /** `<area>.<verb>`, e.g. "policy.update". */
  readonly action: string;
  /** `<Model>:<id or name>`, e.g. "Policy:0193…". */
  readonly target: string;
  /** null/undefined: the target did not exist before (create). */
  readonly before?: unknown;
  /** null/undefined: the target does not exist after (delete). */
  readonly after?: unknown;
}

// Keys whose string values are secrets in any before/after state. Views never carry
// secrets; this is the last line of defence should one ever slip into an audit state.
// ("credential" itself is not listed: policy files audit it as "set"/"changed"/"unset".)
const SECRET_KEY = /(ciphertext|secret|password|passphrase|private[-_]?key|api[-_]?key|token)$/i;

/**
 * A before/after state as stored: plain JSON (Dates as ISO strings, bigints as strings),
 * string values under secret-looking keys replaced by "[redacted]".
 */
export function auditState(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, function (this: unknown, key, v: unknown) {
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "string" && key !== "" && SECRET_KEY.test(key)) return "[redacted]";
      return v;
    }) ?? "null",
  );
}

/** Writes one AdminAudit row per entry; `snapshotVersion` is the version this write produced, if any. */
export async function writeAudit(tx: Tx, actor: string, entries: readonly AuditEntry[], snapshotVersion: bigint | null): Promise<void> {
  if (entries.length === 0) return;
  await tx.adminAudit.createMany({
    data: entries.map((e) => ({
      actor,
      action: e.action,
      target: e.target,
      // undefined leaves the column SQL NULL (no state on that side).
      before: e.before == null ? undefined : (auditState(e.before) as object),
      after: e.after == null ? undefined : (auditState(e.after) as object),
      snapshotVersion,
    })),
  });
}
