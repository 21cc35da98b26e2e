/**
 * Length-prefixed, checksummed frames: the unit the spool appends to disk.
 *
 *     u32 BE payload length | u32 BE CRC-32 (zlib/IEEE) of the payload | payload
 *
 * A frame whose header or payload was cut short (a torn write after power loss or
 * `kill -9`), whose checksum does not match, or whose length is 0 marks the end of the
 * valid data: scanning stops there and the caller truncates. Length 0 is never valid
 * because a zero-filled tail (a file extended before its data reached disk) would
 * otherwise pass: the CRC-32 of nothing is 0.
 */
import { crc32 } from "node:zlib";

/** Bytes before each payload: length + checksum. */
export const FRAME_HEADER_BYTES = 8;

/** Hard upper bound on one payload; anything larger read from disk is treated as corruption. */
export const MAX_FRAME_PAYLOAD = 64 * 1024 * 1024;

/** Returns the 8-byte header for `payload` (written just before it). */
export function frameHeader(payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  return header;
}

/** A valid frame found by scanFrames: where it starts and where its payload is. */
export interface FrameLocation {
  /** Offset of the frame header in the scanned buffer. */
  readonly offset: number;
  /** Offset of the payload. */
  readonly payloadOffset: number;
  readonly payloadLength: number;
}

/** Result of scanning: the valid frames and the offset where valid data ends. */
export interface FrameScan {
  readonly frames: FrameLocation[];
  /** End of the last valid frame; bytes after it (if any) are a torn or corrupt tail. */
  readonly validEnd: number;
}

/** Reads consecutive frames from `buf` starting at `start`, stopping at the first invalid one. */
export function scanFrames(buf: Uint8Array, start: number): FrameScan {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const frames: FrameLocation[] = [];
  let pos = start;
  while (pos + FRAME_HEADER_BYTES <= view.length) {
    const length = view.readUInt32BE(pos);
    const payloadOffset = pos + FRAME_HEADER_BYTES;
    if (length === 0 || length > MAX_FRAME_PAYLOAD || payloadOffset + length > view.length) break;
    const payload = view.subarray(payloadOffset, payloadOffset + length);
    if (crc32(payload) !== view.readUInt32BE(pos + 4)) break;
    frames.push({ offset: pos, payloadOffset, payloadLength: length });
    pos = payloadOffset + length;
  }
  return { frames, validEnd: pos };
}
