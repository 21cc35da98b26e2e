/**
 * Chain format version 1 (before issue #14): the hash over a hand-built canonical JSON of
 * every field. Kept only to verify records sealed by proxies that predate version 2
 * (chain.ts), e.g. still waiting in an upgraded proxy's spool or already stored.
 *
 *     hash = hex(sha256(canonicalJsonV1(record)))
 *
 * Canonical form (version 1):
 *   - UTF-8 JSON of one object, no whitespace, keys exactly in CANONICAL_FIELDS_V1 order,
 *     every key always present (defaults included), preceded by `"v":1`;
 *   - strings as by ECMAScript JSON.stringify, after replacing lone UTF-16 surrogates by
 *     U+FFFD (what protobuf's UTF-8 encoding does, so the hash survives a wire round trip);
 *   - uint32 fields as JSON numbers; int64/uint64 fields as decimal strings (no precision
 *     loss); `cost` (double) as a string: ECMAScript Number::toString (shortest round-trip);
 *   - repeated strings as arrays in stored order; `events` as `[offset_ms, event, data]`
 *     arrays in stored order; `mask_counts` as `[key, count]` pairs sorted by key
 *     (UTF-16 code-unit order).
 */
import { createHash } from "node:crypto";
import type { SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";

/** Version tag written into every canonical form; bump if the field list ever changes. */
const CANONICAL_VERSION = 1;

/** The record fields covered by the hash, in canonical order (proto field names). */
export const CANONICAL_FIELDS_V1 = [
  "id", "proxy_id", "seq", "prev_hash", "started_at_ms", "duration_ms", "request_id",
  "issuer", "subject", "email", "groups", "connection_id", "operation", "graph",
  "assistant_id", "thread_id", "run_id", "decision", "reasons", "snapshot_version",
  "method", "path", "status", "request_json", "response_json", "events", "bytes_in",
  "bytes_out", "cost", "mask_counts", "error_code",
] as const;

// Lone surrogates cannot be encoded in UTF-8; protobuf (TextEncoder) turns them into U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ANY_SURROGATE = /[\uD800-\uDFFF]/;

function str(s: string): string {
  return JSON.stringify(ANY_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, "\uFFFD") : s);
}

function strs(list: readonly string[]): string {
  return "[" + list.map(str).join(",") + "]";
}

function canonicalJson(r: SessionRecord, prevHash: string): string {
  const events = r.events.map((e) => `[${e.offsetMs},${str(e.event)},${str(e.data)}]`);
  const maskKeys = Object.keys(r.maskCounts).sort();
  const masks = maskKeys.map((k) => `[${str(k)},${r.maskCounts[k]}]`);
  // Built by hand (not JSON.stringify of an object) so the order is explicit in the code,
  // bigints need no replacer, and another implementation can follow it line by line.
  return (
    `{"v":${CANONICAL_VERSION}` +
    `,"id":${str(r.id)}` +
    `,"proxy_id":${str(r.proxyId)}` +
    `,"seq":"${r.seq}"` +
    `,"prev_hash":${str(prevHash)}` +
    `,"started_at_ms":"${r.startedAtMs}"` +
    `,"duration_ms":${r.durationMs}` +
    `,"request_id":${str(r.requestId)}` +
    `,"issuer":${str(r.issuer)}` +
    `,"subject":${str(r.subject)}` +
    `,"email":${str(r.email)}` +
    `,"groups":${strs(r.groups)}` +
    `,"connection_id":${str(r.connectionId)}` +
    `,"operation":${str(r.operation)}` +
    `,"graph":${str(r.graph)}` +
    `,"assistant_id":${str(r.assistantId)}` +
    `,"thread_id":${str(r.threadId)}` +
    `,"run_id":${str(r.runId)}` +
    `,"decision":${str(r.decision)}` +
    `,"reasons":${strs(r.reasons)}` +
    `,"snapshot_version":"${r.snapshotVersion}"` +
    `,"method":${str(r.method)}` +
    `,"path":${str(r.path)}` +
    `,"status":${r.status}` +
    `,"request_json":${str(r.requestJson)}` +
    `,"response_json":${str(r.responseJson)}` +
    `,"events":[${events.join(",")}]` +
    `,"bytes_in":"${r.bytesIn}"` +
    `,"bytes_out":"${r.bytesOut}"` +
    `,"cost":"${String(r.cost)}"` +
    `,"mask_counts":[${masks.join(",")}]` +
    `,"error_code":${str(r.errorCode)}` +
    "}"
  );
}

/** The exact bytes a version-1 hash covers (the record's own `prev_hash`). */
export function canonicalBytesV1(record: SessionRecord): Uint8Array {
  return Buffer.from(canonicalJson(record, record.prevHash), "utf8");
}

/** Version-1 hash: hex sha256 of the canonical JSON, linked to `prevHash` (overrides `record.prevHash`). */
export function hashRecordV1(prevHash: string, record: SessionRecord): string {
  return createHash("sha256").update(canonicalJson(record, prevHash), "utf8").digest("hex");
}

