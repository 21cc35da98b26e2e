/**
 * Fits a session record into a byte budget instead of dropping it (issue #13): when the
 * spool only has the space reserved for an exchange, a larger record keeps every
 * identifying field and loses the tail of its bulkiest content (events, response, request
 * bodies), with a visible marker saying how much was cut. A record is never dropped for
 * its size.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { SessionEventSchema, SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";

/** The event that replaces events cut from a record. */
export const TRUNCATED_EVENT = "agentgate:truncated";

const encodedSize = (r: SessionRecord): number => toBinary(SessionRecordSchema, r).length;
const marker = (cut: number): string => `…[agentgate: ${cut} bytes truncated to fit the session spool]`;

/** `s` without its last `cut` UTF-8 bytes (at a character boundary), plus a marker. */
function cutText(s: string, cut: number): string {
  const bytes = Buffer.from(s, "utf8");
  const keep = Math.max(0, bytes.length - cut - 80);
  // A cut inside a multi-byte character decodes to U+FFFD; drop it.
  return bytes.subarray(0, keep).toString("utf8").replace(/\uFFFD$/, "") + marker(bytes.length - keep);
}

type Shrinkable = "events" | "responseJson" | "requestJson" | "groups" | "path";

function sizeOf(r: SessionRecord, field: Shrinkable): number {
  if (field === "events") return r.events.reduce((n, e) => n + e.event.length + Buffer.byteLength(e.data) + 8, 0);
  if (field === "groups") return r.groups.reduce((n, g) => n + Buffer.byteLength(g) + 2, 0);
  return Buffer.byteLength(r[field]);
}

function shrink(r: SessionRecord, field: Shrinkable, cut: number): SessionRecord {
  if (field === "events") {
    const kept = [...r.events.filter((e) => e.event !== TRUNCATED_EVENT)];
    let dropped = 0;
    let freed = 0;
    while (kept.length > 0 && freed < cut + 120) {
      const e = kept.pop()!;
      freed += e.event.length + Buffer.byteLength(e.data) + 8;
      dropped++;
    }
    const last = kept[kept.length - 1];
    const note = create(SessionEventSchema, { offsetMs: last?.offsetMs ?? 0, event: TRUNCATED_EVENT, data: JSON.stringify({ droppedEvents: dropped, droppedBytes: freed }) });
    return { ...r, events: [...kept, note] };
  }
  if (field === "groups") {
    const kept = [...r.groups];
    let freed = 0;
    while (kept.length > 0 && freed < cut) freed += Buffer.byteLength(kept.pop()!) + 2;
    return { ...r, groups: kept };
  }
  return { ...r, [field]: cutText(r[field], cut) };
}

/**
 * `record` reduced until its protobuf encoding is at most `maxBytes`, or undefined if even
 * its identifying fields do not fit. The result is unsealed content: the caller seals it
 * (the hash covers what was kept, markers included). `overhead` is added to the measured
 * size (e.g. for the seq and hashes the spool adds when sealing).
 */
export function fitRecord(record: SessionRecord, maxBytes: number, overhead = 0): SessionRecord | undefined {
  let r = record;
  for (let round = 0; round < 12; round++) {
    const excess = encodedSize(r) + overhead - maxBytes;
    if (excess <= 0) return r;
    const fields: Shrinkable[] = ["events", "responseJson", "requestJson", "groups", "path"];
    const largest = fields.map((f) => [f, sizeOf(r, f)] as const).filter(([, n]) => n > 100).sort((a, b) => b[1] - a[1])[0];
    if (largest === undefined) return undefined;
    r = shrink(r, largest[0], excess);
  }
  return encodedSize(r) + overhead <= maxBytes ? r : undefined;
}
