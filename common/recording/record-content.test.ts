import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { encodeContent } from "./chain.js";

/** The definition of a record's content bytes (chain.ts): toBinary of its canonical copy. */
function reference(record: SessionRecord): Uint8Array {
  const counts: Record<string, number> = {};
  for (const k of Object.keys(record.maskCounts).sort()) counts[k] = record.maskCounts[k]!;
  const { $unknown: _unknown, ...rest } = record;
  const canonicalCopy = { ...rest, seq: 0n, prevHash: "", hash: "", maskCounts: counts, cost: record.cost || 0 };
  const canonical = record.seq === 0n && record.prevHash === "" && record.hash === "" && !Object.is(record.cost, -0) && record.$unknown === undefined
    && Object.keys(record.maskCounts).every((k, i) => k === Object.keys(counts)[i]);
  return toBinary(SessionRecordSchema, canonical ? record : canonicalCopy);
}

// Strings with what UTF-8 makes interesting: multi-byte, astral, lone surrogates, NUL.
const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }), fc.constantFrom("", "\u0000", "\ud800", "é€😀", "x".repeat(300)));
const u32 = fc.oneof(fc.constantFrom(0, 1, 127, 128, 16383, 16384, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
const u64 = fc.oneof(fc.constantFrom(0n, 127n, 128n, 0xffffffffffffffffn), fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }));
const i64 = fc.oneof(fc.constantFrom(0n, -1n, 1735689600000n, -0x8000000000000000n, 0x7fffffffffffffffn), fc.bigInt({ min: -0x8000000000000000n, max: 0x7fffffffffffffffn }));
const cost = fc.oneof(fc.constantFrom(0, -0, 0.5, 1e-300, Number.NaN, Infinity), fc.double());
const recordArb = fc.record({
  id: text, proxyId: text, seq: fc.oneof(fc.constant(0n), u64), prevHash: fc.oneof(fc.constant(""), text), hash: fc.oneof(fc.constant(""), text),
  startedAtMs: i64, durationMs: u32, requestId: text, issuer: text, subject: text, email: text, groups: fc.array(text, { maxLength: 4 }),
  connectionId: text, operation: text, graph: text, assistantId: text, threadId: text, runId: text, decision: text, reasons: fc.array(text, { maxLength: 4 }),
  snapshotVersion: u64, method: text, path: text, status: u32, requestJson: text, responseJson: text,
  events: fc.array(fc.record({ offsetMs: u32, event: text, data: text }), { maxLength: 4 }),
  bytesIn: u64, bytesOut: u64, cost, maskCounts: fc.dictionary(fc.oneof(text, fc.constantFrom("0", "10", "2", "email", "")), u32, { maxKeys: 5 }), errorCode: text,
});

test("property: the hand encoder writes exactly the bytes toBinary writes for a record's content", () => {
  fc.assert(
    fc.property(recordArb, (init) => {
      const record = create(SessionRecordSchema, init);
      expect(Buffer.from(encodeContent(record)).equals(Buffer.from(reference(record)))).toBe(true);
    }),
    { numRuns: 3000 },
  );
});

test("a proxy record with every field set, and an empty one", () => {
  const full = create(SessionRecordSchema, {
    id: "0190a0b0-0000-7000-8000-000000000000", proxyId: "p", startedAtMs: 1735689600123n, durationMs: 3, requestId: "r", issuer: "https://idp", subject: "alice",
    email: "a@x", groups: ["eng", "ops"], connectionId: "c", operation: "runs:stream", graph: "g", assistantId: "a", threadId: "t", runId: "u", decision: "allow",
    reasons: ["policy-allow"], snapshotVersion: 7n, method: "POST", path: "/runs/stream?x=1", status: 200, requestJson: '{"a":"é"}', responseJson: "[]",
    events: [{ offsetMs: 0, event: "metadata", data: "{}" }, { offsetMs: 300, event: "values", data: '{"v":1}' }],
    bytesIn: 12n, bytesOut: 34n, cost: 0.25, maskCounts: { email: 2, "10": 1 }, errorCode: "CLIENT_CLOSED",
  });
  for (const record of [full, create(SessionRecordSchema, {})]) expect(Buffer.from(encodeContent(record)).equals(Buffer.from(reference(record)))).toBe(true);
});

test("out-of-range numbers are refused like toBinary refuses them", () => {
  for (const bad of [{ durationMs: -1 }, { status: 2 ** 32 }, { durationMs: 1.5 }]) {
    const record = create(SessionRecordSchema, bad);
    expect(() => toBinary(SessionRecordSchema, record)).toThrow();
    expect(() => encodeContent(record)).toThrow();
  }
});
