/**
 * Spool segment files: naming, the fixed header, atomic creation and crash recovery.
 *
 * A segment `seg-<first seq, 20 digits>.log` is a 52-byte header followed by frames
 * (frame.ts), each a SessionRecord in protobuf binary:
 *
 *     "AGSPOOL1" | u64 BE seq before this segment | 32-byte sha256 hash before it | u32 BE CRC-32 of the 48 bytes before
 *
 * The header carries the chain state at the segment's start, so the chain can be resumed
 * even when every earlier segment was acked and deleted and this one holds no valid frame.
 * Segments are created under a `.tmp` name, synced, renamed and the directory synced, so
 * a visible segment always has a complete header.
 */
import { open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { ChainState } from "../../common/recording/chain.js";
import { scanFrames } from "./frame.js";
import type { FrameScan } from "./frame.js";

/** Size of the segment header in bytes; the first frame starts here. */
export const SEGMENT_HEADER_BYTES = 52;

const MAGIC = Buffer.from("AGSPOOL1", "ascii");
const NAME_RE = /^seg-(\d{20})\.log$/;

/** File name of the segment whose first record has `firstSeq` (names sort in seq order). */
export function segmentName(firstSeq: bigint): string {
  return `seg-${firstSeq.toString().padStart(20, "0")}.log`;
}

/** True for segment log file names (not their ack files or temporaries). */
export function isSegmentName(name: string): boolean {
  return NAME_RE.test(name);
}

/** Name of the ack log that belongs to a segment: acked record ids, one per line. */
export function ackLogName(segment: string): string {
  return segment.replace(/\.log$/, ".acks");
}

/** Encodes the segment header for a segment that follows `state`. */
export function encodeSegmentHeader(state: ChainState): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeBigUInt64BE(state.seq, 8);
  Buffer.from(state.lastHash, "hex").copy(header, 16);
  header.writeUInt32BE(crc32(header.subarray(0, 48)), 48);
  return header;
}

/** Decodes a segment header, or undefined when it is missing or damaged. */
export function decodeSegmentHeader(buf: Uint8Array): ChainState | undefined {
  if (buf.length < SEGMENT_HEADER_BYTES) return undefined;
  const header = Buffer.from(buf.buffer, buf.byteOffset, SEGMENT_HEADER_BYTES);
  if (!header.subarray(0, 8).equals(MAGIC)) return undefined;
  if (crc32(header.subarray(0, 48)) !== header.readUInt32BE(48)) return undefined;
  return { seq: header.readBigUInt64BE(8), lastHash: header.subarray(16, 48).toString("hex") };
}

/** fsyncs a directory so that creations, renames and deletions in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates a new, durable, empty segment that continues from `state`; returns its name. */
export async function createSegment(dir: string, firstSeq: bigint, state: ChainState): Promise<string> {
  const name = segmentName(firstSeq);
  const tmp = join(dir, name + ".tmp");
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(encodeSegmentHeader(state));
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await syncDir(dir);
  return name;
}

/** What was found in a segment file on open. */
export interface RecoveredSegment {
  /** Chain state from the header; undefined if the header is damaged. */
  readonly start: ChainState | undefined;
  /** The whole (possibly truncated) file content; frames index into it. */
  readonly data: Buffer;
  readonly scan: FrameScan;
  /** Bytes cut off the end because they were a torn or corrupt frame. */
  readonly truncatedBytes: number;
}

/**
 * Reads a segment and, if its tail is torn or corrupt, truncates the file to the end of
 * its last valid frame (and syncs), so later appends continue from clean data.
 */
export async function recoverSegment(path: string): Promise<RecoveredSegment> {
  const data = await readFile(path);
  const start = decodeSegmentHeader(data);
  if (start === undefined) return { start, data, scan: { frames: [], validEnd: 0 }, truncatedBytes: 0 };
  const scan = scanFrames(data, SEGMENT_HEADER_BYTES);
  const truncatedBytes = data.length - scan.validEnd;
  if (truncatedBytes > 0) {
    const fh = await open(path, "r+");
    try {
      await fh.truncate(scan.validEnd);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
  return { start, data: data.subarray(0, scan.validEnd), scan, truncatedBytes };
}

/** Reads a segment's ack log; a torn last line (no newline) is ignored. */
export async function readAckLog(path: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Set();
    throw err;
  }
  const lines = text.split("\n");
  lines.pop(); // after the last "\n": empty, or a line whose write was cut short
  return new Set(lines);
}

/** Deletes a file, ignoring one that is already gone. */
export async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
