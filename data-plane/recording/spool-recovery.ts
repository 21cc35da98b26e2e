/**
 * Rebuilds a spool's in-memory state from its directory on open (sync/spool.ts): which
 * records are still pending, where they are, and where the hash chain ends.
 *
 * Order of work, and why:
 *   1. `.tmp` files are half-created segments (crash before their rename): deleted.
 *      `.acks` files without their segment (crash between the two unlinks): deleted.
 *   2. Each segment is scanned; a torn or corrupt tail is truncated (segment-file.ts).
 *      A segment with a damaged header is moved aside as `.corrupt`, never deleted.
 *   3. Records named in the segment's ack log are dropped; the rest are pending.
 *   4. Fully acked segments are deleted, except the newest, which carries the chain state.
 */
import { open, readdir, rename, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { SessionRecordSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import { EMPTY_CHAIN } from "../../common/recording/chain.js";
import type { ChainState } from "../../common/recording/chain.js";
import { FRAME_HEADER_BYTES } from "./frame.js";
import { ackLogName, isSegmentName, readAckLog, recoverSegment, unlinkIfExists } from "./segment-file.js";

/** An open segment as the spool tracks it. */
export interface SpoolSegment {
  readonly name: string;
  /** Opened read-write; only the newest segment is ever written. */
  readonly fh: FileHandle;
  /** The same file opened write-only with O_DSYNC, on first use: strict batches are written through it (sync/spool.ts). */
  dsyncFh: FileHandle | undefined;
  /** Valid bytes, header included. */
  size: number;
  /** Frames not yet acked. */
  live: number;
  ackBytes: number;
  /** The ack log, opened for appending on first use. */
  ackFh: FileHandle | undefined;
  deleted: boolean;
}

/** Where one pending record's frame is. */
export interface SpoolEntry {
  readonly seg: SpoolSegment;
  /** Offset of the frame header in the segment. */
  readonly offset: number;
  /** Frame size, header included. */
  readonly bytes: number;
}

/** Something recovery repaired, for the operator's log. */
export type RecoveryFinding =
  | { type: "recovered"; segment: string; truncatedBytes: number }
  | { type: "corrupt-segment"; segment: string; movedTo: string };

/** The state a spool resumes from. */
export interface RecoveredSpool {
  /** Remaining segments, oldest first; the last one is where appends continue. */
  readonly segments: SpoolSegment[];
  /** Pending records in seq order (Map iteration order). */
  readonly index: Map<string, SpoolEntry>;
  /** The end of the chain: the last durable record, else the newest segment's header. */
  readonly chain: ChainState;
  readonly findings: RecoveryFinding[];
}

/** Reads `dir` and returns the spool state to resume from (see the module comment). */
export async function recoverSpool(dir: string): Promise<RecoveredSpool> {
  const names = await readdir(dir);
  const segmentNames = names.filter(isSegmentName).sort();
  const expectedAckLogs = new Set(segmentNames.map(ackLogName));
  for (const name of names) {
    if (name.endsWith(".tmp") || (name.endsWith(".acks") && !expectedAckLogs.has(name))) await unlinkIfExists(join(dir, name));
  }
  const segments: SpoolSegment[] = [];
  const index = new Map<string, SpoolEntry>();
  const findings: RecoveryFinding[] = [];
  let chain: ChainState = EMPTY_CHAIN;
  try {
    for (const name of segmentNames) {
      const path = join(dir, name);
      const found = await recoverSegment(path);
      if (found.start === undefined) {
        // Segments only become visible with a synced header: a bad one is damage, not a torn write.
        const movedTo = `${path}.corrupt`;
        await rename(path, movedTo);
        findings.push({ type: "corrupt-segment", segment: name, movedTo });
        continue;
      }
      if (found.truncatedBytes > 0) findings.push({ type: "recovered", segment: name, truncatedBytes: found.truncatedBytes });
      chain = found.start;
      const ackPath = join(dir, ackLogName(name));
      const acked = await readAckLog(ackPath);
      const ackBytes = acked.size > 0 ? (await stat(ackPath)).size : 0;
      const seg: SpoolSegment = {
        name, fh: await open(path, "r+"), dsyncFh: undefined, size: found.scan.validEnd, live: 0, ackBytes, ackFh: undefined, deleted: false,
      };
      segments.push(seg);
      for (const frame of found.scan.frames) {
        const payload = found.data.subarray(frame.payloadOffset, frame.payloadOffset + frame.payloadLength);
        const record = fromBinary(SessionRecordSchema, payload);
        chain = { seq: record.seq, lastHash: record.hash };
        if (acked.has(record.id) || index.has(record.id)) continue;
        index.set(record.id, { seg, offset: frame.offset, bytes: FRAME_HEADER_BYTES + frame.payloadLength });
        seg.live++;
      }
    }
    for (const seg of segments.slice(0, -1)) {
      if (seg.live > 0) continue;
      seg.deleted = true;
      await seg.fh.close();
      await unlinkIfExists(join(dir, seg.name));
      await unlinkIfExists(join(dir, ackLogName(seg.name)));
    }
  } catch (err) {
    for (const seg of segments) if (!seg.deleted) await seg.fh.close().catch(() => undefined);
    throw err;
  }
  return { segments: segments.filter((s) => !s.deleted), index, chain, findings };
}
