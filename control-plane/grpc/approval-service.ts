import * as grpc from "@grpc/grpc-js";
import type { GrpcServiceImpl } from "../../proto/grpc-adapter.js";
import type { ApprovalService } from "../../proto/gen/agentgate/v1/approval_pb.js";
import type { Db } from "../store/client.js";
import { consumeGrant, requestApproval } from "../approvals/service.js";
import type { GrpcLog } from "./log.js";
import { jsonLineLog } from "./log.js";

/** ApprovalService.Request: a proxy files (or finds) the approval request of a run. */
export function createApprovalService(deps: {
  db: Db;
  log?: GrpcLog;
  reviewUrl?: (id: string) => string;
  onGrantSpent?: () => void;
  /** A request still pending this long expires (default 24 h). */
  requestTtlSeconds?: number;
}): GrpcServiceImpl<typeof ApprovalService> {
  const log = deps.log ?? jsonLineLog;
  return {
    request(call, callback) {
      const r = call.request;
      if (!r.issuer || !r.subject || !r.connectionId || !r.operation) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "issuer, subject, connection_id and operation are required" });
        return;
      }
      requestApproval(deps.db, r, new Date(), deps.requestTtlSeconds).then(
        (ticket) => callback(null, { ...ticket, reviewUrl: deps.reviewUrl?.(ticket.id) ?? "" }),
        (err: Error) => {
          log("error", "approval request not stored", { error: err.message });
          callback({ code: grpc.status.UNAVAILABLE, details: "approval requests cannot be stored right now" });
        },
      );
    },
    consumeGrant(call, callback) {
      const r = call.request;
      if (!r.grantId || !r.proxyId) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "grant_id and proxy_id are required" });
        return;
      }
      consumeGrant(deps.db, r).then(
        (use) => {
          if (use.granted && use.usesLeft === 0) deps.onGrantSpent?.();
          callback(null, { granted: use.granted, usesLeft: use.usesLeft });
        },
        (err: Error) => {
          log("error", "grant use not stored", { error: err.message });
          callback({ code: grpc.status.UNAVAILABLE, details: "grant uses cannot be counted right now" });
        },
      );
    },
  };
}
