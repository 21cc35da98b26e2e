/** Reading the admin audit log (written by change-log.ts), newest first. */
import type { Db } from "../store/client.js";
import type { AdminAudit } from "../store/types.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";

/** One audit row as the API shows it. */
export interface AuditEntryView {
  readonly id: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly snapshotVersion: bigint | null;
  readonly at: Date;
}

/** Filters of {@link listAudit}; all optional, combined with AND. */
export interface AuditFilter {
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly target?: string | undefined;
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
}

function view(row: AdminAudit): AuditEntryView {
  return { id: row.id, actor: row.actor, action: row.action, target: row.target, before: row.before, after: row.after, snapshotVersion: row.snapshotVersion, at: row.at };
}

/** Lists audit rows, newest first (ids are UUIDv7: time-ordered). */
export async function listAudit(db: Db, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntryView>> {
  const { idAfter, orderBy, take } = pageArgs(page, "desc");
  const at = { ...(filter.since ? { gte: filter.since } : {}), ...(filter.until ? { lt: filter.until } : {}) };
  const where = {
    AND: [
      idAfter,
      filter.actor ? { actor: filter.actor } : {},
      filter.action ? { action: filter.action } : {},
      filter.target ? { target: filter.target } : {},
      filter.since || filter.until ? { at } : {},
    ],
  };
  return toPage(await db.adminAudit.findMany({ where, orderBy, take }), page, view);
}
