import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { create } from "@bufbuild/protobuf";
import { SessionEventSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import { verifyChain } from "../../common/recording/chain.js";
import { TRUNCATED_EVENT } from "../recording/fit-record.js";
import { testRecord } from "../recording/testing/test-record.js";
import { openSpool, type Reservation, type Spool } from "./spool.js";

/**
 * Admission reserves spool space for an exchange's record before anything is forwarded
 * (issue #13, INVARIANTS 5): whatever the interleaving of admissions, records and acks, a
 * reserved record is always stored (fitted if larger than its reservation, never dropped),
 * and a reservation is refused exactly when the spool could not hold one more record.
 */
const dirs: string[] = [];
const open: Spool[] = [];
async function openTest(maxBytes: number, reserveBytes: number): Promise<Spool> {
  const dir = await mkdtemp(join(tmpdir(), "agentgate-reserve-"));
  dirs.push(dir);
  const spool = await openSpool({ dir, maxBytes, reserveBytes, segmentBytes: 64 * 1024, onEvent: () => undefined });
  open.push(spool);
  return spool;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("a full spool refuses the reservation, reports not accepting, and an append of a reserved record never fails for space", async () => {
  const spool = await openTest(256 * 1024, 16 * 1024);
  const held: Reservation[] = [];
  for (;;) {
    try {
      held.push(spool.reserve());
    } catch (err) {
      expect(err).toMatchObject({ code: "SPOOL_FULL" });
      break;
    }
  }
  expect(held.length).toBe(16); // 256 KiB / 16 KiB, no more: reservations cannot overcommit
  expect(spool.stats()).toMatchObject({ accepting: false, reservedBytes: 16 * 16 * 1024, freeBytes: 0 });
  // Every holder writes a record larger than its reservation: each is fitted, none refused.
  const sealed = await Promise.all(held.map((r, i) => spool.append(testRecord(i, 40_000), { reservation: r })));
  expect(sealed).toHaveLength(16);
  expect(verifyChain(await spool.pending(100))).toEqual({ ok: true });
  expect(sealed.some((r) => r.responseJson.includes("truncated to fit the session spool"))).toBe(true);
  expect(spool.stats().reservedBytes).toBe(0);
  expect(() => spool.reserve()).toThrow(expect.objectContaining({ code: "SPOOL_FULL" }));
  await spool.ack(sealed.map((r) => r.id));
  expect(spool.stats().accepting).toBe(true);
  spool.reserve().release();
});

test("a record too large for what is left is fitted: identifying fields kept, events and bodies cut with a marker", async () => {
  const spool = await openTest(1 << 20, 16 * 1024);
  const filler = spool.reserve(1_000_000); // leaves little more than one reservation free
  const record = testRecord(1, 100_000);
  record.requestJson = JSON.stringify({ input: "é".repeat(30_000) });
  record.events = Array.from({ length: 500 }, (_, i) => create(SessionEventSchema, { offsetMs: i, event: "values", data: "y".repeat(200) }));
  const sealed = await spool.append(record, { reservation: spool.reserve() });
  filler.release();
  expect(sealed).toMatchObject({ id: record.id, subject: "alice", operation: "runs:wait", status: 200, path: "/runs/wait" });
  expect(sealed.events.at(-1)!.event).toBe(TRUNCATED_EVENT);
  expect(sealed.responseJson).toContain("truncated to fit the session spool");
  expect(verifyChain([sealed])).toEqual({ ok: true });
  const [stored] = await spool.pending(1);
  expect(stored!.hash).toBe(sealed.hash);
  expect(stored!.responseJson).not.toContain("\uFFFD");
});

test("a reservation is spent by its append or its release, once", async () => {
  const spool = await openTest(1 << 20, 32 * 1024);
  const r = spool.reserve();
  expect(spool.stats().reservedBytes).toBe(32 * 1024);
  await spool.append(testRecord(1), { reservation: r });
  expect(spool.stats().reservedBytes).toBe(0);
  expect(r.release()).toBe(false);
  const other = spool.reserve();
  expect(r.release()).toBe(false); // a spent reservation cannot free someone else's space
  expect(spool.stats().reservedBytes).toBe(32 * 1024);
  expect(other.release()).toBe(true);
  expect(spool.stats().reservedBytes).toBe(0);
});

test("property: any interleaving of admissions, records, releases and acks never loses a reserved record nor overcommits", async () => {
  type Op = { kind: "reserve" } | { kind: "append"; which: number; size: number } | { kind: "release"; which: number } | { kind: "ack" };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.constant({ kind: "reserve" as const }),
    fc.record({ kind: fc.constant("append" as const), which: fc.nat(), size: fc.integer({ min: 10, max: 60_000 }) }),
    fc.record({ kind: fc.constant("release" as const), which: fc.nat() }),
    fc.constant({ kind: "ack" as const }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
      const max = 200 * 1024;
      const spool = await openTest(max, 16 * 1024);
      const held: Reservation[] = [];
      const writes: Array<Promise<unknown>> = [];
      let n = 0;
      for (const o of ops) {
        if (o.kind === "reserve") {
          const canHold = spool.stats().accepting;
          try {
            held.push(spool.reserve());
            expect(canHold).toBe(true);
          } catch {
            expect(canHold).toBe(false);
          }
        } else if (o.kind === "append" && held.length > 0) {
          const [r] = held.splice(o.which % held.length, 1);
          writes.push(spool.append(testRecord(n++, o.size), { reservation: r! }));
        } else if (o.kind === "release" && held.length > 0) {
          held.splice(o.which % held.length, 1)[0]!.release();
        } else if (o.kind === "ack") {
          await Promise.all(writes);
          await spool.ack((await spool.pending(1000)).map((r) => r.id));
        }
        const s = spool.stats();
        // Disk may exceed the budget only by segment headers and ack-log lines.
        expect(s.diskBytes + s.reservedBytes).toBeLessThanOrEqual(max + 8 * 1024);
      }
      const results = await Promise.allSettled(writes);
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      for (const r of held) r.release();
      expect(spool.stats().reservedBytes).toBe(0);
      expect(verifyChain(await spool.pending(1000))).toEqual({ ok: true });
    }),
    { numRuns: 40 },
  );
}, 60_000);

test("the acked head is the record just before the oldest one not acked", async () => {
  const spool = await openTest(1 << 20, 16 * 1024);
  expect(await spool.ackedHead()).toEqual(spool.chainState()); // nothing yet: seq 0, genesis
  const sealed = [];
  for (let i = 0; i < 5; i++) sealed.push(await spool.append(testRecord(i)));
  expect(await spool.ackedHead()).toEqual({ seq: 0n, lastHash: sealed[0]!.prevHash });
  await spool.ack([sealed[0]!.id, sealed[1]!.id, sealed[3]!.id]); // 4 acked, 3 not: the head stops at 2
  expect(await spool.ackedHead()).toEqual({ seq: 2n, lastHash: sealed[1]!.hash });
  await spool.ack([sealed[2]!.id, sealed[4]!.id]);
  expect(await spool.ackedHead()).toEqual({ seq: 5n, lastHash: sealed[4]!.hash });
});

test("records being fsynced are not acked: the head asked for meanwhile stays before them (found by the fault test)", async () => {
  const spool = await openTest(1 << 20, 16 * 1024);
  // The first append starts its group commit at once: the batch is sealed, neither queued nor indexed yet.
  const first = spool.append(testRecord(0));
  const head = await spool.ackedHead();
  expect(head).toEqual({ seq: 0n, lastHash: (await first).prevHash });
  const second = spool.append(testRecord(1)); // the first is durable now, the second is in flight
  expect(await spool.ackedHead()).toEqual({ seq: 0n, lastHash: (await first).prevHash });
  await spool.ack([(await first).id]);
  const inFlight = spool.append(testRecord(2));
  await second;
  await spool.ack([(await second).id]);
  expect(await spool.ackedHead()).toEqual({ seq: 2n, lastHash: (await second).hash }); // record 3 is not acked
  await inFlight;
});
