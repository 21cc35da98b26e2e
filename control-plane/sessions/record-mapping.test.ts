import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SessionRecordSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import { ChainWriter, EMPTY_CHAIN, encodeContent } from "../../common/recording/chain.js";
import { sealedBytes } from "../../data-plane/recording/sealed-record.js";
import { rowFromRecord, rowFromScanned, scanSealed } from "./record-mapping.js";

/** Sealed bytes of `records` in one chain. */
function seal(...records: Array<Parameters<typeof create<typeof SessionRecordSchema>>[1]>): Uint8Array[] {
  const writer = new ChainWriter(EMPTY_CHAIN);
  return records.map((r) => sealedBytes(writer.sealContent(encodeContent(create(SessionRecordSchema, r)))));
}

describe("scanSealed reads sealed bytes into the same row as decoding them", () => {
  test("every field, empty strings, map keys, events, 64-bit values, a double, text beyond ASCII", () => {
    const sealed = seal(
      {
        id: "01900000-0000-7000-8000-000000000001", proxyId: "p", startedAtMs: -5n, durationMs: 4_000_000_000, requestId: "r", issuer: "https://idp", subject: "ß",
        email: "", groups: ["b", "a", ""], connectionId: "c", operation: "runs:wait", graph: "g", assistantId: "a", threadId: "t", runId: "u", decision: "deny",
        reasons: ["x", "y"], snapshotVersion: 2n ** 63n + 1n, method: "POST", path: "/p?q=é", status: 503, requestJson: "{\"k\":\"😀\"}", responseJson: "",
        events: [{ offsetMs: 1, event: "values", data: "{}" }, { offsetMs: 0, event: "", data: "" }], bytesIn: 2n ** 40n, bytesOut: 0n, cost: 0.30000000000000004,
        maskCounts: { zeta: 1, "10": 3, "9": 0, é: 5 }, errorCode: "UPSTREAM_TIMEOUT",
      },
      { id: "01900000-0000-7000-8000-000000000002", proxyId: "p", decision: "allow", method: "GET", path: "/" },
    );
    for (const bytes of sealed) expect(rowFromScanned(scanSealed(bytes))).toEqual(rowFromRecord(fromBinary(SessionRecordSchema, bytes)));
  });

  test("unknown fields are skipped and a repeated singular field keeps its last value, as fromBinary reads them; invalid UTF-8 is refused by both", () => {
    const base = toBinary(SessionRecordSchema, create(SessionRecordSchema, { id: "i", proxyId: "p", seq: 3n, subject: "first", path: "/" }));
    // subject (field 10) again, an unknown field 99 (varint), path (23) again.
    const bytes = Uint8Array.from([...base, 0x52, 3, 0x61, 0x62, 0x63, 0x98, 0x06, 7, 0xba, 0x01, 2, 0x2f, 0x78]);
    const scanned = rowFromScanned(scanSealed(bytes));
    expect(scanned).toEqual(rowFromRecord(fromBinary(SessionRecordSchema, bytes)));
    expect(scanned.subject).toBe("abc");
    expect(scanned.path).toBe("/x");
    for (const field of [0x52 /* subject, a text column */, 0x62 /* groups, a JSON column */, 0x0a /* id */]) {
      const invalid = Uint8Array.from([...base, field, 3, 0x61, 0xff, 0x62]);
      expect(() => fromBinary(SessionRecordSchema, invalid)).toThrow();
      expect(() => scanSealed(invalid)).toThrow();
    }
  });

  test("bytes that are not a SessionRecord throw", () => {
    const [good] = seal({ id: "i", proxyId: "p", path: "/" });
    expect(() => scanSealed(good!.subarray(0, good!.length - 3))).toThrow();
    expect(() => scanSealed(Uint8Array.from([0x0d, 1, 2, 3, 4]))).toThrow(/wire type/); // id (1) as fixed32
  });
});
