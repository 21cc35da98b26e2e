import { isUtf8 } from "node:buffer";
import { create } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
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

/**
 * A sealed record read for storage without building a SessionRecord (issue #14: decode
 * only what is needed): text columns stay the UTF-8 bytes received (subarrays of the
 * record's bytes, no copy), numbers are read as numbers, and only the fields stored as
 * JSON (groups, reasons, events, mask_counts) and the ones the control plane compares
 * (id, proxy_id, prev_hash, hash) become strings. Empty text is `undefined` (NULL, like
 * `rowFromRecord`). `contentEnd` is where the chain fields begin once checked (ingest.ts).
 */
export interface ScannedRecord {
  readonly id: string;
  readonly proxyId: string;
  readonly seq: bigint;
  readonly prevHash: string;
  readonly hash: string;
  readonly startedAtMs: bigint;
  readonly durationMs: number;
  readonly status: number;
  readonly snapshotVersion: bigint;
  readonly bytesIn: bigint;
  readonly bytesOut: bigint;
  readonly cost: number;
  /** UTF-8 text of the columns in {@link SCANNED_TEXT} order; undefined = empty (NULL where nullable). */
  readonly text: ReadonlyArray<Uint8Array | undefined>;
  readonly groups: string[];
  readonly reasons: string[];
  readonly events: Array<{ offsetMs: number; event: string; data: string }>;
  readonly maskCounts: Record<string, number>;
}

/** Text columns of a ScannedRecord, by SessionRecord field number; `nullable` as in rowFromRecord. */
export const SCANNED_TEXT: ReadonlyArray<{ readonly column: string; readonly field: number; readonly nullable: boolean }> = [
  { column: "requestId", field: 8, nullable: false },
  { column: "issuer", field: 9, nullable: true },
  { column: "subject", field: 10, nullable: true },
  { column: "email", field: 11, nullable: true },
  { column: "connectionId", field: 13, nullable: true },
  { column: "operation", field: 14, nullable: true },
  { column: "graph", field: 15, nullable: true },
  { column: "assistantId", field: 16, nullable: true },
  { column: "threadId", field: 17, nullable: true },
  { column: "runId", field: 18, nullable: true },
  { column: "decision", field: 19, nullable: false },
  { column: "method", field: 22, nullable: false },
  { column: "path", field: 23, nullable: false },
  { column: "requestJson", field: 25, nullable: true },
  { column: "responseJson", field: 26, nullable: true },
  { column: "errorCode", field: 32, nullable: true },
];
const TEXT_SLOT: ReadonlyArray<number | undefined> = (() => {
  const slots: Array<number | undefined> = [];
  SCANNED_TEXT.forEach((t, i) => (slots[t.field] = i));
  return slots;
})();

/** A string field's bytes, refused unless UTF-8 (as `fromBinary` refuses them). */
function utf8(bytes: Uint8Array, field: number): Uint8Array {
  if (!isUtf8(bytes)) throw new Error(`field ${field}: invalid UTF-8`);
  return bytes;
}
const text = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
const u64 = (v: bigint | string): bigint => (typeof v === "bigint" ? v : BigInt(v));
function expect(wireType: WireType, want: WireType, field: number): void {
  if (wireType !== want) throw new Error(`field ${field}: wire type ${wireType}, expected ${want}`);
}

/**
 * Reads sealed record bytes into a ScannedRecord with the wire reader of @bufbuild/protobuf
 * (last value wins for a repeated singular field, unknown fields are skipped, as
 * `fromBinary` does). Throws on bytes that are not a SessionRecord.
 */
export function scanSealed(bytes: Uint8Array): ScannedRecord {
  const reader = new BinaryReader(bytes);
  const texts: Array<Uint8Array | undefined> = new Array(SCANNED_TEXT.length).fill(undefined);
  let id = "", proxyId = "", prevHash = "", hash = "";
  let seq = 0n, startedAtMs = 0n, snapshotVersion = 0n, bytesIn = 0n, bytesOut = 0n;
  let durationMs = 0, status = 0, cost = 0;
  const groups: string[] = [];
  const reasons: string[] = [];
  const events: ScannedRecord["events"] = [];
  const maskCounts: Record<string, number> = {};
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    const slot = TEXT_SLOT[field];
    if (slot !== undefined) {
      expect(wireType, WireType.LengthDelimited, field);
      const b = reader.bytes();
      texts[slot] = b.length === 0 ? undefined : utf8(b, field);
      continue;
    }
    switch (field) {
      case 1: expect(wireType, WireType.LengthDelimited, field); id = reader.string(true); break;
      case 2: expect(wireType, WireType.LengthDelimited, field); proxyId = reader.string(true); break;
      case 3: expect(wireType, WireType.Varint, field); seq = u64(reader.uint64()); break;
      case 4: expect(wireType, WireType.LengthDelimited, field); prevHash = reader.string(true); break;
      case 5: expect(wireType, WireType.LengthDelimited, field); hash = reader.string(true); break;
      case 6: expect(wireType, WireType.Varint, field); startedAtMs = u64(reader.int64()); break;
      case 7: expect(wireType, WireType.Varint, field); durationMs = reader.uint32(); break;
      case 12: expect(wireType, WireType.LengthDelimited, field); groups.push(reader.string(true)); break;
      case 20: expect(wireType, WireType.LengthDelimited, field); reasons.push(reader.string(true)); break;
      case 21: expect(wireType, WireType.Varint, field); snapshotVersion = u64(reader.uint64()); break;
      case 24: expect(wireType, WireType.Varint, field); status = reader.uint32(); break;
      case 27: {
        expect(wireType, WireType.LengthDelimited, field);
        const sub = new BinaryReader(reader.bytes());
        const event = { offsetMs: 0, event: "", data: "" };
        while (sub.pos < sub.len) {
          const [f, w] = sub.tag();
          if (f === 1 && w === WireType.Varint) event.offsetMs = sub.uint32();
          else if (f === 2 && w === WireType.LengthDelimited) event.event = sub.string(true);
          else if (f === 3 && w === WireType.LengthDelimited) event.data = sub.string(true);
          else sub.skip(w, f);
        }
        if (sub.pos > sub.len) throw new RangeError("premature EOF");
        events.push(event);
        break;
      }
      case 28: expect(wireType, WireType.Varint, field); bytesIn = u64(reader.uint64()); break;
      case 29: expect(wireType, WireType.Varint, field); bytesOut = u64(reader.uint64()); break;
      case 30: expect(wireType, WireType.Bit64, field); cost = reader.double(); break;
      case 31: {
        expect(wireType, WireType.LengthDelimited, field);
        const sub = new BinaryReader(reader.bytes());
        let key = "";
        let value = 0;
        while (sub.pos < sub.len) {
          const [f, w] = sub.tag();
          if (f === 1 && w === WireType.LengthDelimited) key = sub.string(true);
          else if (f === 2 && w === WireType.Varint) value = sub.uint32();
          else sub.skip(w, f);
        }
        if (sub.pos > sub.len) throw new RangeError("premature EOF");
        maskCounts[key] = value;
        break;
      }
      default:
        reader.skip(wireType, field);
    }
  }
  if (reader.pos > reader.len) throw new RangeError("premature EOF");
  return { id, proxyId, seq, prevHash, hash, startedAtMs, durationMs, status, snapshotVersion, bytesIn, bytesOut, cost, text: texts, groups, reasons, events, maskCounts };
}

/** The row `rowFromRecord` makes of the same record (for tests and the non-PostgreSQL path). */
export function rowFromScanned(r: ScannedRecord): SessionRow {
  const t = (column: string): string | null => {
    const b = r.text[SCANNED_TEXT.findIndex((s) => s.column === column)];
    return b === undefined ? null : text(b);
  };
  return {
    id: r.id, proxyId: r.proxyId, seq: r.seq, prevHash: r.prevHash, hash: r.hash, startedAt: new Date(Number(r.startedAtMs)), durationMs: r.durationMs,
    requestId: t("requestId") ?? "", issuer: t("issuer"), subject: t("subject"), email: t("email"), groups: [...r.groups], connectionId: t("connectionId"),
    operation: t("operation"), graph: t("graph"), assistantId: t("assistantId"), threadId: t("threadId"), runId: t("runId"), decision: t("decision") ?? "",
    reasons: [...r.reasons], snapshotVersion: r.snapshotVersion, method: t("method") ?? "", path: t("path") ?? "", status: r.status,
    requestJson: t("requestJson"), responseJson: t("responseJson"), events: r.events.map((e) => ({ ...e })), bytesIn: r.bytesIn, bytesOut: r.bytesOut,
    cost: r.cost, maskCounts: { ...r.maskCounts }, errorCode: t("errorCode"),
  };
}
