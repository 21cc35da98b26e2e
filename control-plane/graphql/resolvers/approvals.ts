import { decideApproval, listApprovals } from "../../approvals/service.js";
import { CpError, toGraphQLError } from "../../errors.js";
import { authorize, guarded } from "../guard.js";
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
    // Approvers and auditors both see the queue.
    approvalRequests: async (_: unknown, args: ConnectionArgs & { status?: string | null }, ctx: GraphqlContext) => {
      try {
        const by = await authorize(ctx, null);
        if (!by.scopes.has("approve") && !by.scopes.has("audit")) throw new CpError("FORBIDDEN", "this operation requires the approve or audit scope");
        return toConnection(await listApprovals(ctx.db, args.status ?? undefined, pageRequest(args)));
      } catch (err) {
        throw toGraphQLError(err);
      }
    },
    approvalRequest: async (_: unknown, args: { id: string }, ctx: GraphqlContext) => {
      try {
        const by = await authorize(ctx, null);
        if (!by.scopes.has("approve") && !by.scopes.has("audit")) throw new CpError("FORBIDDEN", "this operation requires the approve or audit scope");
        return await ctx.db.approvalRequest.findUnique({ where: { id: args.id } });
      } catch (err) {
        throw toGraphQLError(err);
      }
    },
  },
  Mutation: {
    approveRequest: guarded("approve", (args: { id: string; note?: string | null }, by, ctx) => decideApproval(ctx.admin, by, args.id, "approved", args.note ?? undefined)),
    denyRequest: guarded("approve", (args: { id: string; note?: string | null }, by, ctx) => decideApproval(ctx.admin, by, args.id, "denied", args.note ?? undefined)),
  },
};
