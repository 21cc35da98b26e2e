import { create } from "@bufbuild/protobuf";
import { SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";

/** The Session row as the store keeps it (Prisma create input shape). */
export interface SessionRow {
  id: string;
  proxyId: string;
  seq: bigint;
  prevHash: string;
  hash: string;
  startedAt: Date;
  durationMs: number;
  requestId: string;
  issuer: string | null;
  subject: string | null;
  email: string | null;
  groups: string[];
  connectionId: string | null;
  operation: string | null;
  graph: string | null;
  assistantId: string | null;
  threadId: string | null;
  runId: string | null;
  decision: string;
  reasons: string[];
  snapshotVersion: bigint;
  method: string;
  path: string;
  status: number;
  requestJson: string | null;
  responseJson: string | null;
  events: Array<{ offsetMs: number; event: string; data: string }>;
  bytesIn: bigint;
  bytesOut: bigint;
  cost: number;
  maskCounts: Record<string, number>;
  errorCode: string | null;
}

const orNull = (s: string): string | null => (s === "" ? null : s);

/** A reported record → its row. Empty strings become NULL (proto3 has no presence). */
export function rowFromRecord(r: SessionRecord): SessionRow {
  return {
    id: r.id,
    proxyId: r.proxyId,
    seq: r.seq,
    prevHash: r.prevHash,
    hash: r.hash,
    startedAt: new Date(Number(r.startedAtMs)),
    durationMs: r.durationMs,
    requestId: r.requestId,
    issuer: orNull(r.issuer),
    subject: orNull(r.subject),
    email: orNull(r.email),
    groups: [...r.groups],
    connectionId: orNull(r.connectionId),
    operation: orNull(r.operation),
    graph: orNull(r.graph),
    assistantId: orNull(r.assistantId),
    threadId: orNull(r.threadId),
    runId: orNull(r.runId),
    decision: r.decision,
    reasons: [...r.reasons],
    snapshotVersion: r.snapshotVersion,
    method: r.method,
    path: r.path,
    status: r.status,
    requestJson: orNull(r.requestJson),
    responseJson: orNull(r.responseJson),
    events: r.events.map((e) => ({ offsetMs: e.offsetMs, event: e.event, data: e.data })),
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
    cost: r.cost,
    maskCounts: { ...r.maskCounts },
    errorCode: orNull(r.errorCode),
  };
}

const arr = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** A stored row → the record it came from, exactly (so its hash can be recomputed). */
export function recordFromRow(row: {
  [K in keyof SessionRow]: K extends "groups" | "reasons" | "events" | "maskCounts" ? unknown : SessionRow[K];
}): SessionRecord {
  const events = Array.isArray(row.events) ? (row.events as Array<{ offsetMs: number; event: string; data: string }>) : [];
  const counts = row.maskCounts && typeof row.maskCounts === "object" ? (row.maskCounts as Record<string, number>) : {};
  return create(SessionRecordSchema, {
    id: row.id,
    proxyId: row.proxyId,
    seq: row.seq,
    prevHash: row.prevHash,
    hash: row.hash,
    startedAtMs: BigInt(row.startedAt.getTime()),
    durationMs: row.durationMs,
    requestId: row.requestId,
    issuer: row.issuer ?? "",
    subject: row.subject ?? "",
    email: row.email ?? "",
    groups: arr(row.groups),
    connectionId: row.connectionId ?? "",
    operation: row.operation ?? "",
    graph: row.graph ?? "",
    assistantId: row.assistantId ?? "",
    threadId: row.threadId ?? "",
    runId: row.runId ?? "",
    decision: row.decision,
    reasons: arr(row.reasons),
    snapshotVersion: row.snapshotVersion,
    method: row.method,
    path: row.path,
    status: row.status,
    requestJson: row.requestJson ?? "",
    responseJson: row.responseJson ?? "",
    events: events.map((e) => ({ offsetMs: e.offsetMs, event: e.event, data: e.data })),
    bytesIn: row.bytesIn,
    bytesOut: row.bytesOut,
    cost: row.cost,
    maskCounts: counts,
    errorCode: row.errorCode ?? "",
  });
}
