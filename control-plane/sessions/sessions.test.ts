import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ChainHeadSchema, SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { ChainWriter, EMPTY_CHAIN, encodeContent, hashRecord } from "../../common/recording/chain.js";
import { sealedBytes } from "../../data-plane/recording/sealed-record.js";
import { createUuidV7 } from "../../common/recording/uuidv7.js";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { openStore, type Store } from "../store/client.js";
import { ingestSessions } from "./ingest.js";
import { listSessions, identityAggregates, graphTimeline } from "./queries.js";
import { deleteSessionsBefore } from "./retention.js";
import { verifyStoredChains } from "./verify.js";
import { anchorKey } from "./anchors.js";

const KEY = anchorKey({ derive: (label) => `test-key-${label}` });

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const MIN = 60_000;

/** A sealed chain of records for one proxy, `at` minutes after T0 each. */
function chain(proxyId: string, specs: Array<Omit<MessageInitShape<typeof SessionRecordSchema>, "$typeName"> & { at: number }>): SessionRecord[] {
  const writer = new ChainWriter(EMPTY_CHAIN);
  const ids = createUuidV7();
  return specs.map(({ at, ...rest }) =>
    writer.seal(
      create(SessionRecordSchema, {
        id: ids(),
        proxyId,
        startedAtMs: BigInt(T0 + at * MIN),
        requestId: `r-${at}`,
        issuer: "https://idp",
        subject: "alice",
        decision: "allow",
        method: "POST",
        path: "/runs/wait",
        status: 200,
        operation: "runs:wait",
        graph: "echo",
        ...rest,
      }),
    ),
  );
}

describe.each(["sqlite", "postgresql"] as const)("sessions on %s", (provider) => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestDatabase(provider);
    store = await openStore(db.url);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  test("ingest is idempotent and rejects records whose hash does not match", async () => {
    const records = chain("p-ingest", [{ at: 0 }, { at: 1 }, { at: 2 }]);
    expect((await ingestSessions(store.prisma, "p-ingest", records, store.provider)).stored).toHaveLength(3);
    const again = await ingestSessions(store.prisma, "p-ingest", records, store.provider);
    expect(again).toEqual({ stored: records.map((r) => r.id), rejected: [] });
    const forged = chain("p-ingest", [{ at: 3 }])[0]!;
    forged.subject = "mallory";
    expect((await ingestSessions(store.prisma, "p-ingest", [forged], store.provider)).rejected).toHaveLength(1);
    const other = chain("p-x", [{ at: 0 }]);
    expect((await ingestSessions(store.prisma, "p-ingest", other, store.provider)).rejected[0]!.reason).toMatch(/proxy_id/);
    expect(await store.prisma.session.count({ where: { proxyId: "p-ingest" } })).toBe(3);
  });

  test("sealed bytes are verified as received; one shipped differently than hashed is rejected alone; stored rows verify at rest", async () => {
    const proxyId = "p-sealed";
    const writer = new ChainWriter(EMPTY_CHAIN);
    const ids = createUuidV7();
    // Content chosen to stress the columns → content bytes round trip: map keys jsonb reorders
    // (and integer-like ones), lone surrogates, events, a double, 64-bit values, empty strings.
    const records = Array.from({ length: 6 }, (_, i) =>
      create(SessionRecordSchema, {
        id: ids(), proxyId, startedAtMs: BigInt(T0 + i), durationMs: i, requestId: `r-${i}`, decision: "allow", method: "GET", path: `/p/${i}?q=é`,
        status: 200, groups: ["b", "a", ""], reasons: i % 2 ? [] : ["x"], maskCounts: { zeta: 1, a: 2, "10": 3, "9": 4, "é": 5 },
        events: [{ offsetMs: 1, event: "values", data: '{"k":"\uD800"}' }, { offsetMs: 2, event: "end", data: "" }],
        requestJson: "bad \uD800 half", responseJson: '{"ok":true}', cost: 0.1 + 0.2 * i, bytesIn: 2n ** 40n, bytesOut: 7n, snapshotVersion: 3n, email: i === 3 ? "" : "a@x",
      }),
    );
    const sealed = records.map((r) => sealedBytes(writer.sealContent(encodeContent(r))));
    const bent = Uint8Array.from(sealed[2]!);
    bent[20] = bent[20]! ^ 0x20; // inside the content: not what was hashed
    const result = await ingestSessions(store.prisma, proxyId, [sealed[0]!, sealed[1]!, bent, ...sealed.slice(3)], store.provider, KEY);
    expect(result.rejected).toEqual([{ id: expect.any(String), reason: expect.stringMatching(/hash|chain fields/) }]);
    expect(result.stored).toEqual([0, 1, 3, 4, 5].map((i) => records[i]!.id));
    // The proxy resends the right bytes: stored once, and the stored chain verifies from its columns.
    expect((await ingestSessions(store.prisma, proxyId, sealed, store.provider, KEY)).stored).toHaveLength(6);
    expect(await store.prisma.session.count({ where: { proxyId } })).toBe(6);
    expect((await verifyStoredChains(store.prisma, KEY, proxyId))[0]).toMatchObject({ ok: true, records: 6, problems: [] });
    await store.prisma.session.update({ where: { id: records[4]!.id }, data: { maskCounts: { zeta: 1, a: 2, "10": 3, "9": 4, "é": 6 } } });
    expect((await verifyStoredChains(store.prisma, KEY, proxyId))[0]!.problems).toEqual([{ seq: 5n, id: records[4]!.id, kind: "altered" }]);
  });

  test("a record the database refuses is rejected alone; the rest of its batch is stored", async () => {
    const records = chain("p-poison", [{ at: 0 }, { at: 1, responseJson: "bad \u0000 byte" }, { at: 2 }]);
    const result = await ingestSessions(store.prisma, "p-poison", records, store.provider);
    if (provider === "postgresql") {
      expect(result.rejected.map((r) => r.id)).toEqual([records[1]!.id]);
      expect(result.stored.sort()).toEqual([records[0]!.id, records[2]!.id].sort());
    } else {
      // SQLite stores U+0000 in text.
      expect(result.stored).toHaveLength(3);
    }
  });

  test("sealed bytes the database cannot hold are rejected alone; resends and forks of a sealed batch are told apart", async () => {
    const proxyId = "p-poison-sealed";
    const writer = new ChainWriter(EMPTY_CHAIN);
    // U+0000 in text (PostgreSQL refuses it), a duration beyond a 32-bit integer column, and good ones around them.
    const records = chain(proxyId, [{ at: 0 }, { at: 1, responseJson: "bad \u0000 byte" }, { at: 2 }, { at: 3, durationMs: 2 ** 31 }, { at: 4 }]);
    const sealed = records.map((r) => sealedBytes(writer.sealContent(encodeContent({ ...r, seq: 0n, prevHash: "", hash: "" }))));
    const result = await ingestSessions(store.prisma, proxyId, sealed, store.provider, KEY);
    if (provider === "postgresql") {
      expect(result.rejected.map((r) => r.id).sort()).toEqual([records[1]!.id, records[3]!.id].sort());
      expect(result.stored.sort()).toEqual([0, 2, 4].map((i) => records[i]!.id).sort());
    } else {
      // SQLite stores U+0000 in text and 64-bit integers.
      expect(result.stored).toHaveLength(5);
    }
    const storedIds = new Set(result.stored);
    // A resend of the whole batch: the stored ones are acked again, nothing is stored twice.
    const again = await ingestSessions(store.prisma, proxyId, sealed, store.provider, KEY);
    expect(again.stored.sort()).toEqual([...storedIds].sort());
    expect(await store.prisma.session.count({ where: { proxyId } })).toBe(storedIds.size);
    // A fork: another record at seq 1 (a different id) is rejected, the stored one kept.
    const fork = sealedBytes(new ChainWriter(EMPTY_CHAIN).sealContent(encodeContent({ ...chain(proxyId, [{ at: 9 }])[0]!, seq: 0n, prevHash: "", hash: "" })));
    const forked = await ingestSessions(store.prisma, proxyId, [fork], store.provider, KEY);
    expect(forked.stored).toEqual([]);
    expect(forked.rejected[0]!.reason).toMatch(/forked/);
    expect(await store.prisma.session.count({ where: { proxyId } })).toBe(storedIds.size);
  });

  test("filters and cursor pagination walk every matching session once", async () => {
    const records = chain("p-list", Array.from({ length: 25 }, (_, i) => ({ at: i, graph: i % 2 ? "echo" : "slow", decision: i % 5 === 0 ? "deny" : "allow" })));
    await ingestSessions(store.prisma, "p-list", records, store.provider);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page: Awaited<ReturnType<typeof listSessions>> = await listSessions(store.prisma, { proxyId: "p-list", graph: "slow" }, { first: 4, after });
      seen.push(...page.nodes.map((s) => s.id));
      if (!page.hasNextPage) break;
      after = page.nodes.at(-1)!.id;
    }
    const expected = records.filter((r) => r.graph === "slow").map((r) => r.id).reverse();
    expect(seen).toEqual(expected);
    const denied = await listSessions(store.prisma, { proxyId: "p-list", decision: "deny" }, { first: 100 });
    expect(denied.nodes).toHaveLength(5);
    const aggregates = await identityAggregates(store.prisma, { proxyId: "p-list" });
    expect(aggregates).toEqual([expect.objectContaining({ subject: "alice", calls: 25, denials: 5 })]);
    const timeline = await graphTimeline(store.prisma, { proxyId: "p-list" }, "hour");
    expect(timeline.reduce((n, b) => n + b.calls, 0)).toBe(25);
  });

  test("verification finds a deleted and an edited record; retention deletes a prefix and stays verifiable", async () => {
    const records = chain("p-verify", Array.from({ length: 10 }, (_, i) => ({ at: i })));
    await ingestSessions(store.prisma, "p-verify", records, store.provider, KEY);
    expect((await verifyStoredChains(store.prisma, KEY, "p-verify"))[0]).toMatchObject({ ok: true, records: 10 });

    expect(await deleteSessionsBefore(store.prisma, new Date(T0 + 3 * MIN), KEY)).toBeGreaterThanOrEqual(3);
    expect((await verifyStoredChains(store.prisma, KEY, "p-verify"))[0]).toMatchObject({ ok: true, records: 7 });

    await store.prisma.session.delete({ where: { id: records[5]!.id } });
    await store.prisma.session.update({ where: { id: records[8]!.id }, data: { responseJson: "{}" } });
    const report = (await verifyStoredChains(store.prisma, KEY, "p-verify"))[0]!;
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.id, p.kind])).toEqual([
      [records[6]!.id, "gap"],
      [records[8]!.id, "altered"],
    ]);
  });

  // Every tampering an insider with database access can do, each detected and named (issue #13).
  // Each case runs on a fresh 8-record chain of its own proxy, ingested in batches like a proxy's.
  const TAMPERINGS: Array<[string, (db: Store["prisma"], r: SessionRecord[], proxyId: string) => Promise<unknown>, Array<[number | "head" | "start" | "none", string]>]> = [
    ["edit a record", (db, r) => db.session.update({ where: { id: r[3]!.id }, data: { status: 500 } }), [[3, "altered"]]],
    ["delete the first record", (db, r) => db.session.delete({ where: { id: r[0]!.id } }), [["start", "missing-first"]]],
    ["delete the first two records", (db, r) => db.session.deleteMany({ where: { id: { in: [r[0]!.id, r[1]!.id] } } }), [["start", "missing-first"]]],
    ["delete a middle record", (db, r) => db.session.delete({ where: { id: r[4]!.id } }), [[5, "gap"]]],
    ["delete the newest record", (db, r) => db.session.delete({ where: { id: r[7]!.id } }), [["head", "missing-last"]]],
    ["delete every record", (db, _r, proxyId) => db.session.deleteMany({ where: { proxyId } }), [["start", "missing-first"], ["head", "missing-last"]]],
    ["swap two records' positions", async (db, r) => {
      await db.session.update({ where: { id: r[2]!.id }, data: { seq: -1n } });
      await db.session.update({ where: { id: r[3]!.id }, data: { seq: r[2]!.seq } });
      await db.session.update({ where: { id: r[2]!.id }, data: { seq: r[3]!.seq } });
    }, [[3, "altered"], [3, "broken-link"], [2, "altered"], [2, "broken-link"], [4, "broken-link"]]],
    ["rewrite the newest record with a recomputed hash", async (db, r) => {
      const forged = { ...r[7]!, status: 201 };
      forged.hash = hashRecord(forged.prevHash, forged);
      await db.session.update({ where: { id: forged.id }, data: { status: 201, hash: forged.hash } });
    }, [[7, "head-mismatch"]]],
    ["delete the anchor", (db, _r, proxyId) => db.chainAnchor.delete({ where: { proxyId } }), [[0, "anchor-missing"]]],
    ["move the signed head back", (db, r, proxyId) => db.chainAnchor.update({ where: { proxyId }, data: { headSeq: r[5]!.seq, headHash: r[5]!.hash } }), [["none", "anchor-invalid"]]],
  ];
  // Batches arrive in order, or newest first (the reporter's fresh batches during a catch-up,
  // or a new proxy's first report after an outage): the chain's start must not follow them.
  const ORDERS = ["in order", "newest batch first"] as const;
  test.each(TAMPERINGS.flatMap(([name, tamper, expected]) => ORDERS.map((order) => [name, order, tamper, expected] as const)))("tampering is detected: %s (batches %s)", async (name, order, tamper, expected) => {
    const proxyId = `p-tamper-${TAMPERINGS.findIndex((t) => t[0] === name)}-${ORDERS.indexOf(order)}`;
    const records = chain(proxyId, Array.from({ length: 8 }, (_, i) => ({ at: i })));
    const batches: SessionRecord[][] = [];
    for (let i = 0; i < records.length; i += 3) batches.push(records.slice(i, i + 3));
    if (order === "newest batch first") batches.reverse();
    for (const batch of batches) await ingestSessions(store.prisma, proxyId, batch, store.provider, KEY);
    expect((await verifyStoredChains(store.prisma, KEY, proxyId))[0]).toMatchObject({ ok: true, problems: [] });
    await tamper(store.prisma, records, proxyId);
    const report = (await verifyStoredChains(store.prisma, KEY, proxyId))[0]!;
    expect(report.ok).toBe(false);
    const where = (at: (typeof expected)[number][0]) => (at === "head" ? 8n : at === "start" ? 1n : at === "none" ? 0n : records[at]!.seq);
    expect(report.problems.map((p) => [p.seq, p.kind]).sort()).toEqual(expected.map(([at, kind]) => [where(at), kind]).sort());
  });

  test("an anchor row restored from an old copy hides deleted newest records only until the proxy reports its acked head", async () => {
    const proxyId = "p-rollback";
    const records = chain(proxyId, Array.from({ length: 6 }, (_, i) => ({ at: 200 + i })));
    await ingestSessions(store.prisma, proxyId, records.slice(0, 3), store.provider, KEY);
    const oldCopy = await store.prisma.chainAnchor.findUniqueOrThrow({ where: { proxyId } });
    await ingestSessions(store.prisma, proxyId, records.slice(3), store.provider, KEY);
    // The insider deletes the newest records and puts back the (validly signed) old anchor.
    await store.prisma.session.deleteMany({ where: { id: { in: records.slice(3).map((r) => r.id) } } });
    await store.prisma.chainAnchor.update({ where: { proxyId }, data: oldCopy });
    expect((await verifyStoredChains(store.prisma, KEY, proxyId))[0]!.ok).toBe(true); // undetectable from the database alone
    // The proxy reconnects and reports the newest record it had acknowledged.
    const head = create(ChainHeadSchema, { seq: records[5]!.seq, hash: records[5]!.hash });
    await ingestSessions(store.prisma, proxyId, [], store.provider, KEY, head);
    const report = (await verifyStoredChains(store.prisma, KEY, proxyId))[0]!;
    expect(report.problems.map((p) => [p.seq, p.kind])).toEqual([[6n, "missing-last"]]);
  });

  test("retention moves the signed start: the kept chain verifies, and deleting its new first record is still detected", async () => {
    const proxyId = "p-retention";
    const records = chain(proxyId, Array.from({ length: 6 }, (_, i) => ({ at: 100 + i })));
    await ingestSessions(store.prisma, proxyId, records, store.provider, KEY);
    expect(await deleteSessionsBefore(store.prisma, new Date(T0 + 102 * MIN), KEY)).toBeGreaterThanOrEqual(2);
    expect((await verifyStoredChains(store.prisma, KEY, proxyId))[0]).toMatchObject({ ok: true, records: 4 });
    await store.prisma.session.delete({ where: { id: records[2]!.id } });
    const report = (await verifyStoredChains(store.prisma, KEY, proxyId))[0]!;
    expect(report.problems.map((p) => [p.seq, p.kind])).toEqual([[3n, "missing-first"]]);
  });
});
