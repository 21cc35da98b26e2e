/**
 * Per-proxy hash chain over session records (tamper evidence, DESIGN.md §2).
 *
 * Each record carries `seq` (1, 2, 3… per proxy), `prev_hash` (the previous record's
 * `hash`, or GENESIS_HASH for seq 1) and
 *
 *     hash = hex(sha256(canonicalBytes(record)))
 *
 * where canonicalBytes covers every field except `hash` itself, so changing any stored
 * field, the order, or the link to the predecessor changes the hash.
 *
 * Canonical form (version 1) — chosen over the protobuf binary because protobuf encoding
 * is not guaranteed canonical across implementations (map order, unknown fields), while
 * this can be rebuilt by the control plane from stored columns alone:
 *   - UTF-8 JSON of one object, no whitespace, keys exactly in CANONICAL_FIELDS order,
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

/** `prev_hash` of the first record of a chain (seq 1). */
export const GENESIS_HASH = "0".repeat(64);

/** Version tag written into every canonical form; bump if the field list ever changes. */
export const CANONICAL_VERSION = 1;

/** The record fields covered by the hash, in canonical order (proto field names). */
export const CANONICAL_FIELDS = [
  "id", "proxy_id", "seq", "prev_hash", "started_at_ms", "duration_ms", "request_id",
  "issuer", "subject", "email", "groups", "connection_id", "operation", "graph",
  "assistant_id", "thread_id", "run_id", "decision", "reasons", "snapshot_version",
  "method", "path", "status", "request_json", "response_json", "events", "bytes_in",
  "bytes_out", "cost", "mask_counts", "error_code",
] as const;

/** Where a chain stands: the last sealed seq (0 before the first) and its hash. */
export interface ChainState {
  readonly seq: bigint;
  readonly lastHash: string;
}

/** The state of a chain that has no record yet. */
export const EMPTY_CHAIN: ChainState = { seq: 0n, lastHash: GENESIS_HASH };

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

/**
 * The exact bytes the record's hash covers: the canonical JSON (see the module comment) of
 * every field except `hash`, with the record's own `prev_hash`. Exported so the control
 * plane's verifier and `agentgate audit verify` hash exactly what the proxy hashed.
 */
export function canonicalBytes(record: SessionRecord): Uint8Array {
  return Buffer.from(canonicalJson(record, record.prevHash), "utf8");
}

/** hex sha256 of the record's canonical bytes, linked to `prevHash` (overrides `record.prevHash`). */
export function hashRecord(prevHash: string, record: SessionRecord): string {
  return createHash("sha256").update(canonicalJson(record, prevHash), "utf8").digest("hex");
}

/**
 * Appends records to one proxy's chain: assigns the next `seq`, links `prev_hash` and
 * computes `hash`. Not persistent by itself: the spool seals records as it appends them
 * and recovers the state from disk on open (see sync/spool.ts).
 */
export class ChainWriter {
  #seq: bigint;
  #lastHash: string;

  constructor(state: ChainState) {
    this.#seq = state.seq;
    this.#lastHash = state.lastHash;
  }

  /** The chain's current end (what the next record will link to). */
  get state(): ChainState {
    return { seq: this.#seq, lastHash: this.#lastHash };
  }

  /** Returns a copy of `record` with seq, prev_hash and hash set, and advances the chain. */
  seal(record: SessionRecord): SessionRecord {
    const sealed: SessionRecord = { ...record, seq: this.#seq + 1n, prevHash: this.#lastHash, hash: "" };
    sealed.hash = hashRecord(sealed.prevHash, sealed);
    this.#seq = sealed.seq;
    this.#lastHash = sealed.hash;
    return sealed;
  }
}

/** One thing wrong with a chain, at the record where it shows. */
export interface ChainProblem {
  readonly seq: bigint;
  readonly id: string;
  /**
   * gap: seq is not the previous seq + 1 (records missing in between);
   * altered: the record's content does not match its own hash;
   * broken-link: prev_hash is not the previous record's hash (or not GENESIS_HASH at seq 1),
   *   or seq does not increase (duplicate or forked chain).
   */
  readonly kind: "gap" | "altered" | "broken-link";
}

/** Result of verifying a chain. */
export type ChainVerdict = { ok: true } | { ok: false; problems: ChainProblem[] };

/** Where verification of a partial chain starts: the trusted record just before the first. */
export interface VerifyOptions {
  readonly anchor?: ChainState;
}

/**
 * Checks a proxy's records, sorted by seq, and lists every problem (not just the first).
 * Without an anchor, a list starting at seq 1 must link to GENESIS_HASH; a list starting
 * later is taken as a window whose first link cannot be checked.
 */
export function verifyChain(records: readonly SessionRecord[], options: VerifyOptions = {}): ChainVerdict {
  const problems: ChainProblem[] = [];
  let prev: ChainState | undefined = options.anchor ?? (records[0]?.seq === 1n ? EMPTY_CHAIN : undefined);
  for (const r of records) {
    if (hashRecord(r.prevHash, r) !== r.hash) problems.push({ seq: r.seq, id: r.id, kind: "altered" });
    if (prev !== undefined) {
      if (r.seq <= prev.seq) problems.push({ seq: r.seq, id: r.id, kind: "broken-link" });
      else if (r.seq !== prev.seq + 1n) problems.push({ seq: r.seq, id: r.id, kind: "gap" });
      // Across a gap the link cannot be judged: the missing record is what it would name.
      else if (r.prevHash !== prev.lastHash) problems.push({ seq: r.seq, id: r.id, kind: "broken-link" });
    }
    prev = { seq: r.seq, lastHash: r.hash };
  }
  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}
