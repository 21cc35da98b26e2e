import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { SessionRecordSchema, type SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import { ChainWriter, EMPTY_CHAIN } from "../../common/recording/chain.js";
import { createUuidV7 } from "../../common/recording/uuidv7.js";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { openStore, type Store } from "../store/client.js";
import { ingestSessions } from "./ingest.js";
import { anomalyThresholdProblems, findAnomalies, type AnomalyOptions } from "./anomalies.js";

/**
 * Each anomaly rule with a positive and a negative case, on both providers. The window is one
 * day from T0 - 1 h; history (baseline hours, first sight, known graphs) lies before it.
 */
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const MIN = 60_000;
const DAY = 1440;
const window = (extra: Partial<AnomalyOptions> = {}): AnomalyOptions => ({ from: new Date(T0 - 60 * MIN), to: new Date(T0 + DAY * MIN), ...extra });

type Spec = Omit<MessageInitShape<typeof SessionRecordSchema>, "$typeName"> & { at: number; subject: string };

let chains = 0;
/** One sealed chain of records (`at` in minutes from T0). */
function records(specs: Spec[]): { proxyId: string; records: SessionRecord[] } {
  const proxyId = `p-anomalies-${++chains}`;
  const writer = new ChainWriter(EMPTY_CHAIN);
  const ids = createUuidV7();
  return {
    proxyId,
    records: specs.map(({ at, ...rest }) =>
      writer.seal(
        create(SessionRecordSchema, {
          id: ids(),
          proxyId,
          startedAtMs: BigInt(T0 + at * MIN),
          requestId: `r-${chains}-${at}`,
          issuer: "https://idp",
          decision: "allow",
          method: "POST",
          path: "/runs/wait",
          status: 200,
          operation: "runs:wait",
          graph: "echo",
          ...rest,
        }),
      ),
    ),
  };
}

const times = (n: number, f: (i: number) => Spec): Spec[] => Array.from({ length: n }, (_, i) => f(i));

describe.each(["sqlite", "postgresql"] as const)("anomaly rules on %s", (provider) => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestDatabase(provider);
    store = await openStore(db.url);
    const { proxyId, records: all } = records([
      // large-payloads: 3 large (positive), 2 large (negative at the default of 3)
      ...times(3, (i) => ({ at: i, subject: "bulk", bytesOut: 5_000_000n })),
      ...times(2, (i) => ({ at: i, subject: "some-big", bytesOut: 5_000_000n })),
      // denial-burst: 50 denials in 5 min counted in full; 10 denials one a minute never 10 in 5 min
      ...times(50, (i) => ({ at: 10 + i * 0.05, subject: "prober", decision: "deny", status: 403 })),
      ...times(10, (i) => ({ at: 10 + i, subject: "slow-prober", decision: "deny", status: 403 })),
      // off-hours without history: 5 calls at 23:00 (positive), a single one (negative: not a pattern)
      ...times(5, (i) => ({ at: 60 * 11 + i, subject: "night-owl" })),
      { at: 60 * 11, subject: "late-once" },
      // off-hours against the identity's own hours: a night worker at night is usual (negative)...
      ...times(30, (i) => ({ at: -(1 + (i % 10)) * DAY + 60 * 11 + i, subject: "night-worker" })),
      ...times(6, (i) => ({ at: 60 * 11 + i, subject: "night-worker" })),
      // ...a day worker at 03:00 is not (positive), at noon it is
      ...times(30, (i) => ({ at: -(1 + (i % 10)) * DAY + i, subject: "day-worker" })),
      ...times(5, (i) => ({ at: 60 * 15 + i, subject: "day-worker" })), // 03:00 UTC next day
      ...times(5, (i) => ({ at: i, subject: "day-worker" })),
      // new-graph: a veteran's first use of leaky (positive); a newcomer's and a brand-new identity's (negative)
      { at: -30 * DAY, subject: "veteran", graph: "echo" },
      { at: 5, subject: "veteran", graph: "echo" },
      { at: 6, subject: "veteran", graph: "leaky" },
      { at: -2 * DAY, subject: "newcomer", graph: "echo" },
      { at: 5, subject: "newcomer", graph: "leaky" },
      { at: 5, subject: "brand-new", graph: "leaky" },
    ]);
    await ingestSessions(store.prisma, proxyId, all, store.provider);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  const findingsOf = async (subject: string, opts?: Partial<AnomalyOptions>) =>
    (await findAnomalies(store.prisma, window(opts))).filter((f) => f.subject === subject).map((f) => [f.rule, f.count, f.detail] as const);

  test("large-payloads: repeated large answers, not two", async () => {
    expect(await findingsOf("bulk")).toEqual([["large-payloads", 3, "3 responses of ≥ 1048576 bytes"]]);
    expect(await findingsOf("some-big")).toEqual([]);
    expect(await findingsOf("some-big", { largeCount: 2 })).toEqual([["large-payloads", 2, "2 responses of ≥ 1048576 bytes"]]);
    expect(await findingsOf("bulk", { largeBytes: 6_000_000 })).toEqual([]);
  });

  test("denial-burst counts the real number, and spread-out denials are no burst", async () => {
    expect(await findingsOf("prober")).toEqual([["denial-burst", 50, "50 denials within 5 min"]]);
    expect(await findingsOf("slow-prober")).toEqual([]);
    expect(await findingsOf("slow-prober", { burstWindowMinutes: 10 })).toEqual([["denial-burst", 10, "10 denials within 10 min"]]);
  });

  test("off-hours needs a pattern, and follows the identity's own usual hours once it has a history", async () => {
    expect((await findingsOf("night-owl")).map(([rule, count]) => [rule, count])).toEqual([["off-hours", 5]]);
    expect(await findingsOf("late-once")).toEqual([]);
    expect(await findingsOf("late-once", { offHoursCount: 1 })).toHaveLength(1);
    expect(await findingsOf("night-worker")).toEqual([]);
    const day = await findingsOf("day-worker");
    expect(day.map(([rule, count]) => [rule, count])).toEqual([["off-hours", 5]]);
    expect(day[0]![2]).toContain("did not use in the previous 14 days");
    // Without enough history the fixed hours stand in: the night worker is then flagged.
    expect((await findingsOf("night-worker", { minBaselineCalls: 100 })).map(([rule, count]) => [rule, count])).toEqual([["off-hours", 6]]);
  });

  test("new-graph only after a learning period: a veteran's first use, not a newcomer's nor a fresh install's", async () => {
    expect(await findingsOf("veteran")).toEqual([["new-graph", 1, 'first use of graph "leaky"']]);
    expect(await findingsOf("newcomer")).toEqual([]);
    expect(await findingsOf("brand-new")).toEqual([]);
    expect(await findingsOf("newcomer", { learningDays: 1 })).toEqual([["new-graph", 1, 'first use of graph "leaky"']]);
  });
});

test("thresholds are checked", () => {
  expect(anomalyThresholdProblems({ largeCount: 0, workHoursEnd: 25, baselineDays: 1.5 })).toEqual(
    expect.arrayContaining(["largeCount must be ≥ 1", "workHoursEnd must be from 0 to 24", "baselineDays must be an integer ≥ 0"]),
  );
  expect(anomalyThresholdProblems({ largeBytes: 10, learningDays: 0 })).toEqual([]);
});
