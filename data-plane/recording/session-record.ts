import { create } from "@bufbuild/protobuf";
import { SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { RequestContext } from "../pipeline/context.js";

// PostgreSQL text and jsonb cannot hold U+0000: a record carrying one could never be
// stored and would block the proxy's spool behind it. It is replaced before sealing.
// eslint-disable-next-line no-control-regex -- matching U+0000 is the point
const NUL = /\u0000/g;
const storable = (s: string): string => (s.includes("\u0000") ? s.replace(NUL, "\uFFFD") : s);

/**
 * The session record of one exchange, from what the pipeline gathered. Everything in it is
 * already masked (request and response bodies, events); the caller's token never is in it.
 * The spool seals it into the hash chain (seq, prev_hash, hash).
 */
export function buildSessionRecord(ctx: RequestContext, proxyId: string, now = Date.now()): SessionRecord {
  const { req, record } = ctx;
  const who = ctx.identity;
  return create(SessionRecordSchema, {
    id: req.id,
    proxyId,
    startedAtMs: BigInt(req.startedAt),
    durationMs: Math.max(0, now - req.startedAt),
    requestId: req.id,
    issuer: who?.issuer ?? "",
    subject: storable(who?.subject ?? ""),
    email: storable(who?.email ?? ""),
    groups: who ? who.groups.map(storable) : [],
    connectionId: ctx.connection?.id ?? "",
    operation: ctx.route?.route.operation ?? "",
    graph: ctx.graph ?? "",
    assistantId: ctx.assistantId ?? "",
    threadId: ctx.threadId ?? "",
    runId: ctx.runId ?? "",
    decision: record.decision,
    reasons: record.reasons,
    snapshotVersion: ctx.state.policy.version,
    method: req.method,
    path: storable(req.rawPath + record.query),
    status: record.status,
    requestJson: storable(record.requestJson),
    responseJson: storable(record.responseJson),
    events: record.events.map((e) => ({ offsetMs: e.offsetMs, event: storable(e.event), data: storable(e.data) })),
    bytesIn: BigInt(record.bytesIn),
    bytesOut: BigInt(record.bytesOut),
    cost: record.cost,
    maskCounts: ctx.masker ? ctx.masker.counts() : {},
    errorCode: record.errorCode,
  });
}
