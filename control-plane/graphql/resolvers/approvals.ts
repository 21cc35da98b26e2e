import { decideApproval, listApprovals } from "../../approvals/service.js";
import { withCaller } from "../guard.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";
import type { GraphqlContext } from "../context.js";

/** Just-in-time approvals: reviewers list and decide requests filed by the proxies. */
export const approvalResolvers = {
  // Reached only through the root fields above, which already checked approve or audit.
  ApprovalRequest: {
    notifications: (parent: { id: string }, _args: unknown, ctx: GraphqlContext) =>
      ctx.db.approvalNotification.findMany({ where: { approvalRequestId: parent.id }, orderBy: { createdAt: "asc" } }),
  },
  Query: {
    // Approvers and auditors both see the queue (access table: approve or audit).
    approvalRequests: withCaller(async (args: ConnectionArgs & { status?: string | null }, _by, ctx) =>
      toConnection(await listApprovals(ctx.db, args.status ?? undefined, pageRequest(args), new Date(), ctx.admin.approvalRequestTtlSeconds)),
    ),
    approvalRequest: withCaller((args: { id: string }, _by, ctx) => ctx.db.approvalRequest.findUnique({ where: { id: args.id } })),
  },
  Mutation: {
    approveRequest: withCaller((args: { id: string; note?: string | null }, by, ctx) => decideApproval(ctx.admin, by, args.id, "approved", args.note ?? undefined)),
    denyRequest: withCaller((args: { id: string; note?: string | null }, by, ctx) => decideApproval(ctx.admin, by, args.id, "denied", args.note ?? undefined)),
  },
};
