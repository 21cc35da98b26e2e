import * as grpc from "@grpc/grpc-js";
import type { GrpcServiceImpl } from "../../proto/grpc-adapter.js";
import type { SessionService } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { Db, StoreProvider } from "../store/client.js";
import { ingestSessions } from "../sessions/ingest.js";
import type { AnchorKey } from "../sessions/anchors.js";
import type { GrpcLog } from "./log.js";
import { jsonLineLog } from "./log.js";

/** Dependencies of the SessionService implementation. */
export interface SessionServiceDeps {
  db: Db;
  provider: StoreProvider;
  /** Signs each proxy's chain head as records are acknowledged (sessions/anchors.ts). */
  anchors?: AnchorKey;
  /** Called after records are stored (e.g. live tail subscribers). */
  onStored?: (ids: string[]) => void;
  log?: GrpcLog;
}

/**
 * SessionService.Report: each incoming batch is stored idempotently and answered with
 * one ReportAck naming what is stored (the proxy then deletes those from its spool) and
 * what is rejected for good. Batches of one stream are handled in order.
 */
export function createSessionService(deps: SessionServiceDeps): GrpcServiceImpl<typeof SessionService> {
  const log = deps.log ?? jsonLineLog;
  return {
    report(call) {
      // Headers at once: the proxy learns the stream is established before its first ack
      // (and resets its reconnect backoff).
      call.sendMetadata(new grpc.Metadata());
      let queue = Promise.resolve();
      call.on("data", (batch) => {
        queue = queue.then(async () => {
          try {
            // Sealed bytes are verified as received; `records` come from proxies before chain v2.
            const reported = batch.records.length === 0 ? batch.sealedRecords : [...batch.sealedRecords, ...batch.records];
            const result = await ingestSessions(deps.db, batch.proxyId, reported, deps.provider, deps.anchors, batch.ackedHead);
            for (const r of result.rejected) log("warn", "session record rejected", { proxyId: batch.proxyId, id: r.id, reason: r.reason });
            if (!call.writable) return;
            call.write({ ids: result.stored, rejectedIds: result.rejected.map((r) => r.id), error: "" });
            if (result.stored.length) deps.onStored?.(result.stored);
          } catch (err) {
            // Storage is down: ack nothing, the proxy keeps the records and resends.
            log("error", "session batch not stored", { proxyId: batch.proxyId, err });
            if (call.writable) call.write({ ids: [], rejectedIds: [], error: "storage unavailable" });
          }
        });
      });
      call.on("end", () => void queue.then(() => call.end()));
      call.on("error", () => undefined);
      call.on("cancelled", () => undefined);
    },
  };
}
