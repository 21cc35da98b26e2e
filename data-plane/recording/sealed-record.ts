/**
 * A sealed record as bytes (issue #14: build each record once). The proxy encodes a record's
 * content once (chain.ts `encodeContent`), hashes it into the chain, and from then on
 * handles only these bytes:
 *
 *     sealed = content ‖ encodeChainFields(seq, prev_hash, hash)
 *
 * Protobuf messages concatenate, so `sealed` is itself a valid SessionRecord encoding with
 * every field set. It is the spool's frame payload (sync/spool.ts), it travels unchanged in
 * SessionBatch.sealed_records, and the control plane checks the hash over the content part
 * of the very bytes it received (`openSealed`), before decoding them into columns.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { encodeChainFields, hashContent, sealInPlace, type SealedContent } from "../../common/recording/chain.js";

/**
 * The sealed bytes of `sealed` (content followed by its chain fields): written into the room
 * `encodeContent` left after the content (no copy), else a copy.
 */
export function sealedBytes(sealed: SealedContent): Uint8Array {
  const inPlace = sealInPlace(sealed.content, sealed.seq, sealed.prevHash, sealed.hash);
  if (inPlace) return inPlace;
  const tail = encodeChainFields(sealed.seq, sealed.prevHash, sealed.hash);
  const out = new Uint8Array(sealed.content.length + tail.length);
  out.set(sealed.content, 0);
  out.set(tail, sealed.content.length);
  return out;
}

/** What `openSealed` found in a sealed record's bytes. */
export type OpenedRecord =
  | { readonly ok: true; readonly record: SessionRecord }
  /** `record` is absent when the bytes are not a SessionRecord at all. */
  | { readonly ok: false; readonly record?: SessionRecord; readonly reason: string };

/**
 * Decodes sealed bytes and checks them: they must end with the chain fields of the record
 * they decode to, and the hash must be that of the bytes before them. Content changed by a
 * single bit, or chain fields that differ from the ones hashed, fail here.
 */
export function openSealed(bytes: Uint8Array): OpenedRecord {
  let record: SessionRecord;
  try {
    record = fromBinary(SessionRecordSchema, bytes);
  } catch (err) {
    return { ok: false, reason: `not a session record: ${(err as Error).message}` };
  }
  const tail = encodeChainFields(record.seq, record.prevHash, record.hash);
  const contentLength = bytes.length - tail.length;
  if (contentLength < 0 || !Buffer.from(bytes.buffer, bytes.byteOffset + contentLength, tail.length).equals(tail)) {
    return { ok: false, record, reason: "the record does not end with its chain fields" };
  }
  if (hashContent(record.seq, record.prevHash, bytes.subarray(0, contentLength)) !== record.hash) {
    return { ok: false, record, reason: "hash does not match the record's content" };
  }
  return { ok: true, record };
}
