import { create } from "@bufbuild/protobuf";
import { SessionEventSchema, SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { RequestContext } from "../pipeline/context.js";

// PostgreSQL text and jsonb cannot hold U+0000: a record carrying one could never be
// stored and would block the proxy's spool behind it. THE rule, for every string of the
// record whatever it came from (body, query, token claims, ids, reasons, event names, mask
// labels): U+0000 becomes U+FFFD before sealing, so the sealed hash covers what both
// databases store and the chain verifies.
// eslint-disable-next-line no-control-regex -- matching U+0000 is the point
const NUL = /\u0000/g;
const storable = (s: string): string => (s.includes("\u0000") ? s.replace(NUL, "\uFFFD") : s);

type Plain = string | number | boolean | bigint | null | undefined | Plain[] | { [k: string]: Plain };

/**
 * True when some string (or key) anywhere in `v` holds U+0000. Runs on every record, so it
 * allocates nothing (plain loops: `Object.entries` and closures cost ~5 µs a record, issue #14).
 */
function hasNul(v: Plain): boolean {
  if (typeof v === "string") return v.includes("\u0000");
  if (v === null || typeof v !== "object") return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasNul(v[i])) return true;
    return false;
  }
  for (const k in v) if (k.includes("\u0000") || hasNul(v[k])) return true;
  return false;
}

/** `v` with U+0000 replaced in every string and key. */
function storableDeep(v: Plain): Plain {
  if (typeof v === "string") return storable(v);
  if (Array.isArray(v)) return v.map(storableDeep);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k), storableDeep(x)]));
  return v;
}

/**
 * The session record of one exchange, from what the pipeline gathered. Everything in it is
 * already masked (request and response bodies, events); the caller's token never is in it.
 * The spool seals it into the hash chain (seq, prev_hash, hash).
 */
export function buildSessionRecord(ctx: RequestContext, proxyId: string, now = Date.now()): SessionRecord {
  const init = recordInit(ctx, proxyId, now);
  return create(SessionRecordSchema, hasNul(init as Plain) ? (storableDeep(init as Plain) as typeof init) : init);
}

function recordInit(ctx: RequestContext, proxyId: string, now: number) {
  const { req, record } = ctx;
  const who = ctx.identity;
  // Every field set, with its type name: `create` takes it as the message it is (no copy).
  return {
    $typeName: SessionRecordSchema.typeName,
    id: req.id,
    proxyId,
    seq: 0n, // sealed by the spool
    prevHash: "",
    hash: "",
    startedAtMs: BigInt(req.startedAt),
    durationMs: Math.max(0, now - req.startedAt),
    requestId: req.id,
    issuer: who?.issuer ?? "",
    subject: who?.subject ?? "",
    email: who?.email ?? "",
    groups: who ? [...who.groups] : [],
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
    path: req.rawPath + record.query,
    status: record.status,
    requestJson: record.requestJson,
    responseJson: record.responseJson,
    events: record.events.map((e) => ({ $typeName: SessionEventSchema.typeName, offsetMs: e.offsetMs, event: e.event, data: e.data })),
    bytesIn: BigInt(record.bytesIn),
    bytesOut: BigInt(record.bytesOut),
    cost: record.cost,
    maskCounts: ctx.masker ? ctx.masker.counts() : {},
    errorCode: record.errorCode,
  };
}
