import * as grpc from "@grpc/grpc-js";
import type { GrpcServiceImpl } from "../../proto/grpc-adapter.js";
import type { SessionBatch, SessionService } from "../../proto/gen/agentgate/v1/session_pb.js";
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
 * Batches of one stream stored at once. Acks name ids, so they may come back in any order;
 * with two, one batch's database round trip overlaps the next one's decoding and hash
 * checks (a proxy's backlog drains at more than one batch per round trip).
 */
const BATCHES_AT_ONCE = 2;

/** The SessionService implementation and its shutdown. */
export type SessionServiceImpl = GrpcServiceImpl<typeof SessionService> & {
  /**
   * Shutdown: stops taking batches, waits up to `graceMs` for the batches being stored to be
   * answered, then ends every Report stream (OK). A batch not answered by then is abandoned:
   * the proxy still holds it and resends it on its next stream (stored once, by id).
   */
  close(graceMs: number): Promise<void>;
};

/**
 * SessionService.Report: each incoming batch is stored idempotently and answered with
 * one ReportAck naming what is stored (the proxy then deletes those from its spool) and
 * what is rejected for good. Up to BATCHES_AT_ONCE batches of a stream are stored at
 * once; the stream is paused (HTTP/2 flow control) while that many are in progress.
 */
export function createSessionService(deps: SessionServiceDeps): SessionServiceImpl {
  const log = deps.log ?? jsonLineLog;
  // Open Report streams and the batches each is storing (for close).
  const streams = new Map<grpc.ServerDuplexStream<SessionBatch, unknown>, Set<Promise<void>>>();
  let closing = false;
  return {
    report(call) {
      if (closing) {
        call.end();
        return;
      }
      // Headers at once: the proxy learns the stream is established before its first ack
      // (and resets its reconnect backoff).
      call.sendMetadata(new grpc.Metadata());
      const storing = new Set<Promise<void>>();
      streams.set(call, storing);
      const forget = () => streams.delete(call);
      const store = async (batch: SessionBatch): Promise<void> => {
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
      };
      call.on("data", (batch: SessionBatch) => {
        if (closing) return; // not stored, not acked: the proxy resends it
        const task: Promise<void> = store(batch).finally(() => {
          storing.delete(task);
          if (storing.size < BATCHES_AT_ONCE && !closing) call.resume();
        });
        storing.add(task);
        if (storing.size >= BATCHES_AT_ONCE) call.pause();
      });
      // Every batch has been handed to `data` by now: end once the last one is answered.
      call.on("end", () => {
        forget();
        void Promise.all(storing).then(() => call.end());
      });
      call.on("error", forget);
      call.on("cancelled", forget);
    },
    async close(graceMs) {
      closing = true;
      for (const call of streams.keys()) call.pause();
      const answered = Promise.all([...streams.values()].flatMap((storing) => [...storing]));
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
      const late = await Promise.race([answered.then(() => false), expired]);
      clearTimeout(timer);
      const abandoned = [...streams.values()].reduce((n, storing) => n + storing.size, 0);
      if (late && abandoned > 0) log("warn", "session batches abandoned at shutdown; proxies resend them", { batches: abandoned, graceMs });
      for (const call of streams.keys()) if (call.writable) call.end();
      streams.clear();
    },
  };
}
