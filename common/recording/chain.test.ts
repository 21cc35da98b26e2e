import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SessionEventSchema, SessionRecordSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { ChainWriter, EMPTY_CHAIN, GENESIS_HASH, encodeChainFields, encodeContent, hashContent, hashRecord, verifyChain } from "./chain.js";
import { CANONICAL_FIELDS_V1, canonicalBytesV1, hashRecordV1 } from "./chain-v1.js";
import { openSealed, sealedBytes } from "../../data-plane/recording/sealed-record.js";

function record(n: number, extra: Partial<SessionRecord> = {}): SessionRecord {
  const base = create(SessionRecordSchema, {
    id: `0190a000-0000-7000-8000-${n.toString().padStart(12, "0")}`,
    proxyId: "proxy-a",
    startedAtMs: 1_700_000_000_000n + BigInt(n),
    durationMs: 12,
    subject: "alice",
    groups: ["eng", "ops"],
    operation: "runs:create",
    decision: "allow",
    reasons: ["policy-allow"],
    status: 200,
    requestJson: `{"n":${n}}`,
    events: [create(SessionEventSchema, { offsetMs: 5, event: "metadata", data: "{}" })],
    cost: 0.1 + 0.2,
    maskCounts: { email: 2, api_key: 1 },
  });
  return { ...base, ...extra };
}

function sealedChain(n: number): SessionRecord[] {
  const writer = new ChainWriter(EMPTY_CHAIN);
  return Array.from({ length: n }, (_, i) => writer.seal(record(i + 1)));
}

describe("hash chain", () => {
  test("seal numbers records from 1 and links each to the previous hash", () => {
    const chain = sealedChain(3);
    expect(chain.map((r) => r.seq)).toEqual([1n, 2n, 3n]);
    expect(chain[0]!.prevHash).toBe(GENESIS_HASH);
    expect(chain[1]!.prevHash).toBe(chain[0]!.hash);
    expect(chain[2]!.prevHash).toBe(chain[1]!.hash);
    expect(chain[2]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyChain(chain)).toEqual({ ok: true });
  });

  test("a writer resumed from a saved state continues the same chain", () => {
    const first = new ChainWriter(EMPTY_CHAIN);
    const a = first.seal(record(1));
    const resumed = new ChainWriter(first.state);
    const b = resumed.seal(record(2));
    expect(verifyChain([a, b])).toEqual({ ok: true });
  });

  test("content bytes are deterministic, survive a protobuf round trip and ignore map insertion order", () => {
    const [r] = sealedChain(1);
    const again = fromBinary(SessionRecordSchema, toBinary(SessionRecordSchema, r!));
    expect(Buffer.from(encodeContent(again)).equals(Buffer.from(encodeContent(r!)))).toBe(true);
    const reordered = { ...r!, maskCounts: { api_key: 1, email: 2 } };
    expect(hashRecord(r!.prevHash, reordered)).toBe(r!.hash);
    // The chain fields are the link, not the content.
    expect(Buffer.from(encodeContent({ ...r!, seq: 9n, prevHash: "x", hash: "y" })).equals(Buffer.from(encodeContent(r!)))).toBe(true);
    expect(hashRecord(r!.prevHash, { ...r!, cost: -0 })).toBe(hashRecord(r!.prevHash, { ...r!, cost: 0 }));
    // The copy-free path (a record as the proxy builds it) and the canonicalising path agree.
    const unsealed = record(1, { maskCounts: { a: 1, b: 2, "10": 3, "9": 4 } });
    const shuffled = record(1, { maskCounts: { b: 2, "9": 4, a: 1, "10": 3 } });
    expect(Buffer.from(encodeContent(unsealed)).equals(Buffer.from(encodeContent(shuffled)))).toBe(true);
    expect(Buffer.from(encodeContent(unsealed)).equals(Buffer.from(encodeContent({ ...unsealed, seq: 4n })))).toBe(true);
    const cases: Array<[bigint, string, string]> = [[7n, "a".repeat(64), "b".repeat(64)], [1n, GENESIS_HASH, ""], [127n, "", "x"], [128n, "é".repeat(100), "z"], [2n ** 40n, "a", "b"], [2n ** 64n - 1n, "", ""], [0n, "p", "h"]];
    for (const [seq, prevHash, hash] of cases) {
      const expected = Buffer.from(toBinary(SessionRecordSchema, create(SessionRecordSchema, { seq, prevHash, hash }))).toString("hex");
      expect([seq, Buffer.from(encodeChainFields(seq, prevHash, hash)).toString("hex")]).toEqual([seq, expected]);
    }
  });

  test("sealed bytes = content then chain fields; opening them checks the hash over the bytes themselves", () => {
    const writer = new ChainWriter(EMPTY_CHAIN);
    writer.seal(record(1));
    const content = encodeContent(record(2));
    const sealed = writer.sealContent(content);
    const bytes = sealedBytes(sealed);
    expect(Buffer.from(bytes.subarray(0, content.length)).equals(Buffer.from(content))).toBe(true);
    expect(sealed.hash).toBe(hashContent(2n, sealed.prevHash, content));
    const opened = openSealed(bytes);
    expect(opened.ok).toBe(true);
    if (opened.ok) expect(verifyChain([opened.record], { anchor: { seq: 1n, lastHash: sealed.prevHash } })).toEqual({ ok: true });
    // Any single byte of the content changed (a record shipped differently than hashed) fails.
    for (let at = 0; at < content.length; at += 7) {
      const bent = Uint8Array.from(bytes);
      bent[at] = bent[at]! ^ 0x01;
      expect(openSealed(bent).ok).toBe(false);
    }
    // Content sealed as another seq, or chain fields not at the end, fail too.
    expect(openSealed(sealedBytes({ ...sealed, seq: 3n })).ok).toBe(false);
    const tailFirst = Buffer.concat([Buffer.from(bytes.subarray(content.length)), Buffer.from(content)]);
    expect(openSealed(tailFirst).ok).toBe(false);
    expect(openSealed(Uint8Array.of(0xff, 0xff, 0xff))).toMatchObject({ ok: false });
  });

  test("chain fields written in place: the same hash and sealed bytes as the copying path, and a second seal never alters the first's bytes", () => {
    for (const seq of [1n, 127n, 128n, 300n, 2n ** 40n, 2n ** 63n]) {
      const prevHash = seq === 1n ? GENESIS_HASH : "ab".repeat(32);
      const content = encodeContent(record(Number(seq % 1000n)));
      const plain = Uint8Array.from(content); // a copy: no room around it
      const hash = hashContent(seq, prevHash, content);
      expect(hash).toBe(hashContent(seq, prevHash, plain));
      const bytes = sealedBytes({ seq, prevHash, hash, content });
      const copied = sealedBytes({ seq, prevHash, hash, content: plain });
      expect(bytes.buffer).toBe(content.buffer); // in place, not copied
      expect(Buffer.from(bytes).equals(Buffer.from(copied))).toBe(true);
      const kept = Buffer.from(bytes);
      // The same content sealed again, differently: its bytes are a copy; the first ones stay.
      const again = sealedBytes({ seq: seq + 1n, prevHash: "cd".repeat(32), hash: "ef".repeat(32), content });
      expect(again.buffer).not.toBe(content.buffer);
      expect(hashContent(seq + 1n, "cd".repeat(32), content)).toBe(hashContent(seq + 1n, "cd".repeat(32), plain));
      expect(Buffer.from(bytes).equals(kept)).toBe(true);
      expect(openSealed(bytes).ok).toBe(true);
    }
  });

  test("every proto field but hash is covered: changing any one changes the hash", () => {
    const [r] = sealedChain(1);
    const changed = (name: string): Partial<SessionRecord> => {
      const field = SessionRecordSchema.fields.find((f) => f.name === name)!;
      const key = field.localName as keyof SessionRecord;
      const value = r![key] as unknown;
      if (field.fieldKind === "map") return { [key]: { ...(value as object), zz_new: 1 } };
      if (field.fieldKind === "list") return { [key]: field.listKind === "message" ? [...(value as unknown[]), create(SessionEventSchema, { event: "x" })] : [...(value as string[]), "zz"] };
      if (typeof value === "string") return { [key]: value + "z" };
      if (typeof value === "bigint") return { [key]: value + 1n };
      return { [key]: (value as number) + 1 };
    };
    const names = SessionRecordSchema.fields.map((f) => f.name).filter((n) => n !== "hash");
    expect(names).toHaveLength(31);
    for (const name of names) {
      const variant = { ...r!, ...changed(name) };
      expect([name, hashRecord(variant.prevHash, variant)]).not.toEqual([name, r!.hash]);
    }
    expect(hashRecord("f".repeat(64), r!)).not.toBe(r!.hash);
  });

  test("records sealed with the version-1 JSON form still verify, and their tampering still shows", () => {
    const v1: SessionRecord[] = [];
    let prev = GENESIS_HASH;
    for (let n = 1; n <= 3; n++) {
      const r = { ...record(n), seq: BigInt(n), prevHash: prev, hash: "" };
      r.hash = hashRecordV1(prev, r);
      prev = r.hash;
      v1.push(r);
    }
    expect(verifyChain(v1)).toEqual({ ok: true });
    expect(verifyChain([v1[0]!, { ...v1[1]!, subject: "mallory" }, v1[2]!])).toEqual({ ok: false, problems: [{ seq: 2n, id: v1[1]!.id, kind: "altered" }] });
    const json = JSON.parse(Buffer.from(canonicalBytesV1(v1[0]!)).toString("utf8"));
    expect(Object.keys(json)).toEqual(["v", ...CANONICAL_FIELDS_V1]);
  });

  test("a lone surrogate hashes the same before and after the UTF-8 wire encoding", () => {
    const w = new ChainWriter(EMPTY_CHAIN);
    const r = w.seal(record(1, { requestJson: "bad \uD800 half" }));
    const wire = fromBinary(SessionRecordSchema, toBinary(SessionRecordSchema, r));
    expect(wire.requestJson).toBe("bad \uFFFD half");
    expect(verifyChain([wire])).toEqual({ ok: true });
  });

  test("verify reports a gap, an altered field and a broken link, each where it shows", () => {
    const chain = sealedChain(8);
    // seq 3 removed                                   → gap at 4
    // seq 6 edited in place, hash left as it was        → altered at 6
    // seq 7 edited and re-hashed by a forger (its own hash is consistent again),
    //   so seq 8 no longer links to it                  → broken-link at 8
    const altered = { ...chain[5]!, subject: "mallory" };
    const forged7 = { ...chain[6]!, status: 500 };
    forged7.hash = hashRecord(forged7.prevHash, forged7);
    const tampered = [chain[0]!, chain[1]!, chain[3]!, chain[4]!, altered, forged7, chain[7]!];
    const verdict = verifyChain(tampered);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.problems).toEqual([
      { seq: 4n, id: chain[3]!.id, kind: "gap" },
      { seq: 6n, id: chain[5]!.id, kind: "altered" },
      { seq: 8n, id: chain[7]!.id, kind: "broken-link" },
    ]);
  });

  test("verify catches a wrong genesis link, duplicates, and checks windows against an anchor", () => {
    const chain = sealedChain(4);
    const wrongStart = { ...chain[0]!, prevHash: "a".repeat(64) };
    wrongStart.hash = hashRecord(wrongStart.prevHash, wrongStart);
    expect(verifyChain([wrongStart])).toEqual({ ok: false, problems: [{ seq: 1n, id: chain[0]!.id, kind: "broken-link" }] });
    expect(verifyChain([chain[0]!, chain[1]!, chain[1]!])).toEqual({
      ok: false, problems: [{ seq: 2n, id: chain[1]!.id, kind: "broken-link" }],
    });
    expect(verifyChain(chain.slice(2))).toEqual({ ok: true }); // a window: first link unchecked
    expect(verifyChain(chain.slice(2), { anchor: { seq: 2n, lastHash: chain[1]!.hash } })).toEqual({ ok: true });
    expect(verifyChain(chain.slice(2), { anchor: { seq: 2n, lastHash: GENESIS_HASH } }).ok).toBe(false);
    expect(verifyChain([])).toEqual({ ok: true });
  });
});
