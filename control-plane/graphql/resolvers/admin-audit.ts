import { listAudit, type AuditEntryView, type AuditFilter } from "../../admin/audit-log.js";
import { withCaller } from "../guard.js";
import { versionString } from "../map.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

/** The admin audit log (AUDIT scope), newest first. */
export const adminAuditResolvers = {
  AdminAuditEntry: {
    snapshotVersion: (e: AuditEntryView) => versionString(e.snapshotVersion),
  },
  Query: {
    adminAudit: withCaller(async (args: ConnectionArgs & { filter?: AuditFilter | null }, _by, ctx) =>
      toConnection(await listAudit(ctx.admin.db, args.filter ?? {}, pageRequest(args))),
    ),
  },
};
