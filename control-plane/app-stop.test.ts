/**
 * Stopping the control plane with session batches in flight (issue #13, graceful shutdown):
 * the stop must end even when the database does not answer the batch being stored, and
 * abandoning that batch must lose nothing — the proxy still holds it and resends it to the
 * next control plane, which stores it once. Real control plane, PostgreSQL, real spool and
 * report client; the database is made to hang by a table lock held from another connection.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startControlPlane, type ControlPlaneHandle } from "./app.js";
import { loadControlPlaneConfig } from "./config.js";
import { SecretBox } from "./secrets.js";
import { openStore, type Store } from "./store/client.js";
import { anchorKey } from "./sessions/anchors.js";
import { verifyStoredChains } from "./sessions/verify.js";
import { openSpool, type Spool } from "../data-plane/sync/spool.js";
import { startReporter, type Reporter } from "../data-plane/sync/report-client.js";
import { testRecord } from "../data-plane/recording/testing/test-record.js";
import { freePort } from "../demo/free-port.js";
import { createTestDatabase, TEST_PG_URL, type TestDatabase } from "../test/helpers/databases.js";

const PROXY = "stop-proxy";

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("control plane stop with session batches in flight (PostgreSQL)", () => {
  let db: TestDatabase;
  let store: Store;
  let dir: string;
  let spool: Spool | undefined;
  let reporter: Reporter | undefined;
  const planes: ControlPlaneHandle[] = [];
  let locker: pg.Client | undefined;

  beforeAll(async () => {
    db = await createTestDatabase("postgresql");
    store = await openStore(db.url);
    dir = mkdtempSync(join(tmpdir(), "agentgate-cp-stop-"));
  });
  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await reporter?.stop();
    await spool?.close();
    for (const cp of planes) await cp.stop();
    await store?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("stop ends while an INSERT hangs; the abandoned batches are resent and every record is stored exactly once, chain verified", async () => {
    const secretKey = randomBytes(32).toString("base64");
    const proxyToken = `pt-${randomBytes(16).toString("hex")}`;
    const config = loadControlPlaneConfig({
      DATABASE_URL: db.url,
      AGENTGATE_PROXY_TOKEN: proxyToken,
      AGENTGATE_DATA_DIR: join(dir, "cp"),
      AGENTGATE_SECRET_KEY: secretKey,
      AGENTGATE_CP_HTTP_PORT: "0",
      AGENTGATE_CP_GRPC_PORT: String(await freePort()),
    });
    const first = await startControlPlane(config);
    planes.push(first);
    spool = await openSpool({ dir: join(dir, "spool"), maxBytes: 64 * 1024 * 1024 });
    reporter = startReporter({
      address: first.grpcAddress, proxyId: PROXY, proxyToken, spool, batchSize: 50, flushIntervalMs: 20, maxInFlightBatches: 4,
      backoff: { baseMs: 20, capMs: 200 }, log: () => undefined,
    });
    const append = async (from: number, count: number) => {
      for (let n = from; n < from + count; n++) {
        const record = testRecord(n, 300);
        record.proxyId = PROXY;
        await spool!.append(record);
      }
    };
    await append(1, 100);
    expect(await reporter.flush(20_000)).toBe(true);

    // Inserts into Session now wait on a lock held by another connection.
    const schema = new URL(db.url).searchParams.get("schema")!;
    locker = new pg.Client({ connectionString: TEST_PG_URL });
    await locker.connect();
    await locker.query(`SET search_path TO "${schema}"`);
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE "Session" IN EXCLUSIVE MODE`);
    await append(101, 300);
    const blockedInserts = async () =>
      Number((await locker!.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO "Session"%'`)).rows[0].n);
    await until(async () => (await blockedInserts()) > 0);

    // The stop returns although the batches being stored never get an answer from the database.
    await first.stop();
    expect(reporter.status().pending).toBeGreaterThan(0); // nothing it could not have acked was acked
    expect(await store.prisma.session.count({ where: { proxyId: PROXY } })).toBe(100);

    // The database comes back (the abandoned INSERTs may now commit behind the stopped
    // control plane's back), and a new control plane takes the resent batches.
    await locker.query("ROLLBACK");
    const second = await startControlPlane(config);
    planes.push(second);
    expect(await reporter.flush(30_000)).toBe(true);
    const rows = await store.prisma.session.findMany({ where: { proxyId: PROXY }, select: { seq: true } });
    expect(rows).toHaveLength(400);
    expect(new Set(rows.map((r) => r.seq)).size).toBe(400);
    const [report] = await verifyStoredChains(store.prisma, anchorKey(SecretBox.fromBase64(secretKey)), PROXY);
    expect(report).toMatchObject({ ok: true, records: 400, problems: [] });
  }, 90_000);
});
