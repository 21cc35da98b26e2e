import { ApprovalService, type ApprovalRequest } from "../../proto/gen/agentgate/v1/approval_pb.js";
import { bearerInterceptor, callUnary, channelCredentials, makeGrpcClient } from "../../proto/grpc-adapter.js";
import type { ControlPlaneClientOptions } from "./control-plane-client.js";

/** What the approval gate files with the control plane: the gRPC message less what the client adds. */
export type ApprovalFiling = Omit<ApprovalRequest, "$typeName" | "$unknown" | "proxyId" | "reason">;

/** Files approval requests; the decision comes back as a grant in a later snapshot. */
export interface ApprovalClient {
  /** The filed (or already open) request; `reviewUrl` is its console page ("" without a console). */
  request(filing: ApprovalFiling): Promise<{ id: string; status: string; reviewUrl: string }>;
  /** Spends one use of a limited grant for gateway request `requestId`; false: spent, expired or unknown. */
  consumeGrant(grantId: string, requestId: string): Promise<boolean>;
  close(): void;
}

const DEADLINE_MS = 3_000;

/** An ApprovalService client over the proxy's control-plane channel settings. */
export function createApprovalClient(options: ControlPlaneClientOptions): ApprovalClient {
  const client = makeGrpcClient(ApprovalService, options.address, channelCredentials(options.address, options.tls, options.allowInsecure), {
    interceptors: [bearerInterceptor(options.proxyToken)],
  });
  return {
    async request(filing) {
      const ticket = await callUnary(client, "request", { proxyId: options.proxyId, reason: "", ...filing }, { deadline: DEADLINE_MS });
      return { id: ticket.id, status: ticket.status, reviewUrl: ticket.reviewUrl };
    },
    async consumeGrant(grantId, requestId) {
      return (await callUnary(client, "consumeGrant", { proxyId: options.proxyId, grantId, requestId }, { deadline: DEADLINE_MS })).granted;
    },
    close: () => client.close(),
  };
}
