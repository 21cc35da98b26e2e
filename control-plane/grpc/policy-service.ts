/**
 * PolicyService over gRPC (DESIGN.md §3): `Watch` streams snapshots from the publisher
 * (current on connect unless the proxy already has it, then each new version, coalesced
 * by the publisher under write backpressure); `Ack` records what each proxy applied.
 * Authentication happens before these handlers run (proxy-auth.ts).
 */
import * as grpc from "@grpc/grpc-js";
import type { GrpcServiceImpl } from "../../proto/grpc-adapter.js";
import type { PolicyService, Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { SnapshotPublisher } from "../snapshot/publisher.js";
import type { ProxyStatusRegistry } from "../snapshot/status.js";
import type { GrpcLog } from "./log.js";
import { jsonLineLog } from "./log.js";

/** Dependencies of the PolicyService implementation. */
export interface PolicyServiceDeps {
  publisher: SnapshotPublisher;
  status: ProxyStatusRegistry;
  log?: GrpcLog;
}

// Proxy-supplied strings end up in logs and the admin UI: bound and restrict them.
const PROXY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_ADDRESS = 256;
const MAX_ERROR = 2048;

/** A proxy id problem, as a value; undefined when fine. */
function invalidProxyId(proxyId: string): string | undefined {
  return PROXY_ID.test(proxyId) ? undefined : "proxy_id must be 1-128 characters of [A-Za-z0-9._:-]";
}

/** The PolicyService handlers, bound to a publisher and a status registry. */
export function createPolicyService(deps: PolicyServiceDeps): GrpcServiceImpl<typeof PolicyService> {
  const { publisher, status } = deps;
  const log = deps.log ?? jsonLineLog;
  return {
    watch(call) {
      // Copy what we need from the request before anything asynchronous happens.
      const { proxyId, lastVersion, acceptsDelta } = call.request;
      const address = call.request.address.slice(0, MAX_ADDRESS);
      const problem = invalidProxyId(proxyId);
      if (problem !== undefined) {
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: problem });
        return;
      }
      // Send headers now: the proxy learns the stream is established even when it is up
      // to date and no snapshot follows.
      call.sendMetadata(new grpc.Metadata());
      const disconnect = status.connected(proxyId, { address, lastVersion });
      log("info", "watch opened", { proxyId, address, lastVersion, peer: call.getPeer() });

      let closed = false;
      const close = (why: string): void => {
        if (closed) return;
        closed = true;
        unwatch();
        disconnect();
        log("info", "watch closed", { proxyId, why });
      };
      const send = (snapshot: Snapshot): Promise<void> =>
        new Promise((resolve, reject) => {
          if (closed) return reject(new Error("watch closed"));
          // The write callback fires once the message is handed to HTTP/2 (flow control
          // included): until then the publisher treats this watcher as busy and coalesces.
          call.write(snapshot, (err?: Error | null) => (err ? reject(err) : resolve()));
          log("debug", "snapshot sent", { proxyId, version: snapshot.version, baseVersion: snapshot.baseVersion });
        });
      const unwatch = publisher.watch({
        lastVersion,
        acceptsDelta,
        send,
        onError: (err) => {
          log("warn", "watch write failed", { proxyId, err });
          close("write-failed");
          call.end();
        },
      });
      call.on("cancelled", () => close("cancelled"));
      call.on("close", () => close("closed"));
      call.on("error", () => close("error"));
    },

    ack(call, callback) {
      const { proxyId, version } = call.request;
      const problem = invalidProxyId(proxyId);
      if (problem !== undefined) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: problem });
        return;
      }
      const error = call.request.error.slice(0, MAX_ERROR);
      status.ack(proxyId, version, error);
      if (error !== "") log("warn", "snapshot rejected by proxy", { proxyId, version, error });
      callback(null, {});
    },
  };
}
