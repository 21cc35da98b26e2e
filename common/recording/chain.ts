/**
 * Per-proxy hash chain over session records (tamper evidence, DESIGN.md §2), version 2.
 *
 * Each record carries `seq` (1, 2, 3… per proxy), `prev_hash` (the previous record's
 * `hash`, or GENESIS_HASH for seq 1) and
 *
 *     hash = hex(sha256(link ‖ content))
 *     link    = the protobuf encoding of the record's fields 3 (seq) and 4 (prev_hash) alone
 *     content = the canonical protobuf encoding of the record with seq, prev_hash and hash unset
 *
 * so changing any field, the order, or the link to the predecessor changes the hash.
 *
 * Why protobuf bytes (issue #14): the proxy encodes a record once, hashes those bytes,
 * appends them to its spool and ships them to the control plane as they are
 * (sealed-record.ts); nothing walks the record a second time. Version 1 hashed a hand-built
 * JSON of every field (chain-v1.ts), 33 µs per record on the proxy's hot path; records
 * sealed that way still verify (`recordHashMatches`).
 *
 * Canonical content = `toBinary(SessionRecordSchema, …)` of @bufbuild/protobuf, which writes
 * fields in field-number order and omits default values, applied to the record with:
 *   - seq, prev_hash, hash unset (they are the link, and the hash itself);
 *   - mask_counts entries in a fixed order: the object rebuilt in UTF-16 key order;
 *   - cost −0 written as 0 (the stores keep no negative zero);
 *   - no unknown fields.
 * The control plane rebuilds the same bytes from stored columns to verify records at rest
 * (control-plane/sessions/verify.ts); record-mapping's tests check that round trip.
 * Those bytes are written by a hand encoder (record-content.ts, 4–5× cheaper than the library's
 * reflective one on the proxy's hot path), checked byte for byte against toBinary.
 */
import { createHash, hash as oneShotHash } from "node:crypto";
import { WireType } from "@bufbuild/protobuf/wire";
import { SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { hashRecordV1 } from "./chain-v1.js";
import { encodeRecordContent, varint32Size, varint64Size, writeVarint32, writeVarint64 } from "./record-content.js";

/** `prev_hash` of the first record of a chain (seq 1). */
export const GENESIS_HASH = "0".repeat(64);

/** The chain format proxies seal with. */
export const CHAIN_VERSION = 2;

/** Where a chain stands: the last sealed seq (0 before the first) and its hash. */
export interface ChainState {
  readonly seq: bigint;
  readonly lastHash: string;
}

/** The state of a chain that has no record yet. */
export const EMPTY_CHAIN: ChainState = { seq: 0n, lastHash: GENESIS_HASH };

/** mask_counts in canonical order: the object rebuilt with its keys inserted in UTF-16 order. */
function sortedCounts(counts: Record<string, number>): Record<string, number> {
  const keys = Object.keys(counts);
  if (keys.length < 2) return counts;
  const sorted: Record<string, number> = {};
  for (const k of keys.sort()) sorted[k] = counts[k]!;
  return sorted;
}

/** Enumeration order of `counts` is already that of `sortedCounts` (integer-like keys first, as JS enumerates). */
function countsInOrder(counts: Record<string, number>): boolean {
  const keys = Object.keys(counts);
  const sorted = Object.keys(sortedCounts(counts));
  return keys.every((k, i) => k === sorted[i]);
}

/**
 * Chain fields written in place (issue #14: build each record once). Content from
 * `encodeContent` sits in an allocation (its own slice) with free room before it (for the link, so the
 * hash is one call over link ‖ content, no Hash object, no link buffer) and after it (for the
 * chain fields, so sealed-record.ts's sealed bytes are a view, not a copy). A content with
 * room is in LINK_ROOM; its room after is in TAIL_ROOM until the first `takeTailRoom` claims
 * it (a second seal of the same content, e.g. in tests, copies instead).
 */
const ROOM = { before: 96, after: 176 }; // ≥ the largest link (1+10 + 1+1+64 = 77) and chain fields (77 + 1+1+64 = 143)
const LINK_ROOM = new WeakSet<Uint8Array>();
const TAIL_ROOM = new WeakSet<Uint8Array>();

/** The canonical content bytes of `record` (see the module comment): what the hash covers besides the link. */
export function encodeContent(record: SessionRecord): Uint8Array {
  // A record as the proxy builds it is already canonical: encoded as it is, without a copy.
  // Written by record-content.ts, byte for byte what toBinary writes for the record (or its canonical copy).
  const canonical = record.seq === 0n && record.prevHash === "" && record.hash === "" && !Object.is(record.cost, -0) && record.$unknown === undefined && countsInOrder(record.maskCounts);
  const content = canonical
    ? encodeRecordContent(record, record.maskCounts, record.cost, ROOM)
    : encodeRecordContent(record, sortedCounts(record.maskCounts), record.cost || 0, ROOM);
  LINK_ROOM.add(content);
  TAIL_ROOM.add(content);
  return content;
}

/**
 * The sealed bytes content ‖ chain fields(seq, prevHash, hash) written into `content`'s room
 * after it, as a view of the same memory; undefined when there is no such room (any more).
 */
export function sealInPlace(content: Uint8Array, seq: bigint, prevHash: string, hash: string): Uint8Array | undefined {
  if (!TAIL_ROOM.has(content)) return undefined;
  const prevBytes = Buffer.byteLength(prevHash);
  const hashBytes = Buffer.byteLength(hash);
  const size = chainFieldsSize(seq, prevBytes, hashBytes);
  if (size > ROOM.after) return undefined;
  TAIL_ROOM.delete(content);
  const buf = Buffer.from(content.buffer, content.byteOffset, content.length + size);
  writeChainFields(buf, content.length, seq, prevHash, prevBytes, hash, hashBytes);
  return buf;
}

const SEQ = SessionRecordSchema.field.seq.number;
const PREV_HASH = SessionRecordSchema.field.prevHash.number;
const HASH = SessionRecordSchema.field.hash.number;

function writeString(buf: Buffer, at: number, field: number, s: string, bytes: number): number {
  buf[at++] = (field << 3) | WireType.LengthDelimited;
  at = writeVarint32(buf, at, bytes);
  return at + buf.write(s, at, bytes, "utf8");
}

/** Size of the chain fields' encoding (defaults omitted). */
function chainFieldsSize(seq: bigint, prevBytes: number, hashBytes: number): number {
  let size = seq !== 0n ? 1 + varint64Size(seq) : 0;
  if (prevBytes > 0) size += 1 + varint32Size(prevBytes) + prevBytes;
  if (hashBytes > 0) size += 1 + varint32Size(hashBytes) + hashBytes;
  return size;
}

/** Writes the chain fields at `at` (exactly chainFieldsSize bytes); returns the end. */
function writeChainFields(buf: Buffer, at: number, seq: bigint, prevHash: string, prevBytes: number, hash: string, hashBytes: number): number {
  if (seq !== 0n) {
    buf[at++] = (SEQ << 3) | WireType.Varint;
    at = writeVarint64(buf, at, seq);
  }
  if (prevBytes > 0) at = writeString(buf, at, PREV_HASH, prevHash, prevBytes);
  if (hashBytes > 0) at = writeString(buf, at, HASH, hash, hashBytes);
  return at;
}

/**
 * The protobuf encoding of fields seq, prev_hash and (when given) hash alone, exactly as
 * `toBinary` writes them (defaults omitted; chain.test.ts compares the two). Hand-written:
 * runs twice per record on the control plane (the link, the trailing fields). Measured
 * (process CPU, 20,000 calls, shared machine): `toBinary(create(…))` 3–12 µs (it walks all
 * 32 fields), the library's BinaryWriter ~1 µs but ~5% of ingest CPU in allocating its
 * zero-filled growth buffer; this, one exact-size allocation.
 */
export function encodeChainFields(seq: bigint, prevHash: string, hash = ""): Uint8Array {
  const prevBytes = Buffer.byteLength(prevHash);
  const hashBytes = Buffer.byteLength(hash);
  const buf = Buffer.allocUnsafe(chainFieldsSize(seq, prevBytes, hashBytes));
  writeChainFields(buf, 0, seq, prevHash, prevBytes, hash, hashBytes);
  return buf;
}

/** hex sha256 of link(seq, prevHash) ‖ content: a version-2 record hash. */
export function hashContent(seq: bigint, prevHash: string, content: Uint8Array): string {
  if (LINK_ROOM.has(content)) {
    // The link written just before the content: one one-shot hash over link ‖ content.
    const prevBytes = Buffer.byteLength(prevHash);
    const linkBytes = chainFieldsSize(seq, prevBytes, 0);
    if (linkBytes <= ROOM.before) {
      const start = content.byteOffset - linkBytes;
      const buf = Buffer.from(content.buffer, start, linkBytes + content.length);
      writeChainFields(buf, 0, seq, prevHash, prevBytes, "", 0);
      return oneShotHash("sha256", buf, "hex");
    }
  }
  return createHash("sha256").update(encodeChainFields(seq, prevHash)).update(content).digest("hex");
}

/** Version-2 hash of `record` at its own seq, linked to `prevHash` (overrides `record.prevHash`). */
export function hashRecord(prevHash: string, record: SessionRecord): string {
  return hashContent(record.seq, prevHash, encodeContent(record));
}

/** The record's hash matches its content and links: version 2, or version 1 for records sealed before it. */
export function recordHashMatches(record: SessionRecord): boolean {
  return hashRecord(record.prevHash, record) === record.hash || hashRecordV1(record.prevHash, record) === record.hash;
}

/** A record sealed into the chain, as bytes: its position, hash, and the encoded content. */
export interface SealedContent {
  readonly seq: bigint;
  readonly prevHash: string;
  readonly hash: string;
  readonly content: Uint8Array;
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

  /** Seals already encoded content (`encodeContent`) as the next record, and advances the chain. */
  sealContent(content: Uint8Array): SealedContent {
    const seq = this.#seq + 1n;
    const prevHash = this.#lastHash;
    const hash = hashContent(seq, prevHash, content);
    this.#seq = seq;
    this.#lastHash = hash;
    return { seq, prevHash, hash, content };
  }

  /** Returns a copy of `record` with seq, prev_hash and hash set, and advances the chain. */
  seal(record: SessionRecord): SessionRecord {
    const { seq, prevHash, hash } = this.sealContent(encodeContent(record));
    return { ...record, seq, prevHash, hash };
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
    if (!recordHashMatches(r)) problems.push({ seq: r.seq, id: r.id, kind: "altered" });
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
