/**
 * The control plane the ingest bench measures: the real `startControlPlane` (store, gRPC
 * incl. SessionService ingest, GraphQL) run IN THE BENCH PROCESS on a throw-away database
 * (`createTestDatabase`: a fresh PostgreSQL schema or an SQLite file), plus the check that
 * the database holds exactly the records the proxies appended.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startControlPlane, type ControlPlaneHandle } from "../../control-plane/app.js";
import { loadControlPlaneConfig } from "../../control-plane/config.js";
import { openStore } from "../../control-plane/store/client.js";
import { createTestDatabase, type TestDatabase, type TestProvider } from "../../test/helpers/databases.js";
import { freePort } from "./ports.js";

/** A running control plane on its own database. */
export interface IngestControlPlane {
  readonly provider: TestProvider;
  readonly grpcAddress: string;
  /** DATABASE_URL of its database (for measurements beside the control plane). */
  readonly databaseUrl: string;
  /** The bearer token the simulated proxies present. */
  readonly proxyToken: string;
  /** Compares the stored Session rows with what each proxy appended. */
  verify(expected: ReadonlyMap<string, number>): Promise<IngestVerification>;
  /** Stops the control plane (an outage), keeping its database and port. */
  pause(): Promise<void>;
  /** Starts it again on the same database and gRPC port. */
  resume(): Promise<void>;
  /** Stops the control plane, drops the database, removes the data folder. Idempotent. */
  stop(): Promise<void>;
}

/** Stored rows of one proxy. */
export interface StoredChain {
  readonly rows: number;
  readonly distinctIds: number;
  readonly distinctSeqs: number;
  readonly minSeq: number;
  readonly maxSeq: number;
}

/** Result of {@link IngestControlPlane.verify}. */
export interface IngestVerification {
  readonly ok: boolean;
  readonly rows: number;
  readonly expected: number;
  /** Empty when ok: what differs, per proxy. */
  readonly problems: string[];
}

/** Starts a control plane on a fresh `provider` database; on failure cleans up what it made. */
export async function startIngestControlPlane(provider: TestProvider): Promise<IngestControlPlane> {
  const dataDir = mkdtempSync(join(tmpdir(), "agentgate-bench-cp-"));
  const proxyToken = `pt-${randomBytes(24).toString("base64url")}`;
  let db: TestDatabase | undefined;
  let cp: ControlPlaneHandle | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await cp?.stop().catch(() => undefined);
      await db?.drop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    })());
  try {
    db = await createTestDatabase(provider);
    const config = loadControlPlaneConfig({
      DATABASE_URL: db.url,
      AGENTGATE_PROXY_TOKEN: proxyToken,
      AGENTGATE_DATA_DIR: dataDir,
      AGENTGATE_SECRET_KEY: randomBytes(32).toString("base64"),
      AGENTGATE_CP_HTTP_PORT: "0",
      // A fixed port, so that the proxies find it again after an outage (pause/resume).
      AGENTGATE_CP_GRPC_PORT: String(await freePort()),
    });
    cp = await startControlPlane(config);
    const url = db.url;
    const pause = async () => {
      const running = cp;
      cp = undefined;
      await running?.stop();
    };
    const resume = async () => {
      cp ??= await startControlPlane(config);
    };
    return { provider, grpcAddress: cp.grpcAddress, databaseUrl: url, proxyToken, verify: (expected) => verifyStored(url, expected), pause, resume, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Reads per-proxy row counts, distinct ids and seqs, and the seq range through a separate
 * client. A proxy's chain is exactly right when rows = distinct ids = distinct seqs =
 * expected and the seqs are 1..expected (no record lost, none stored twice).
 */
async function verifyStored(url: string, expected: ReadonlyMap<string, number>): Promise<IngestVerification> {
  const store = await openStore(url, { migrate: false });
  try {
    const raw = await store.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(
      `SELECT "proxyId" AS proxy, COUNT(*) AS n, COUNT(DISTINCT "id") AS ids, COUNT(DISTINCT "seq") AS seqs, MIN("seq") AS lo, MAX("seq") AS hi FROM "Session" GROUP BY "proxyId"`,
    );
    const stored = new Map<string, StoredChain>(
      raw.map((r) => [String(r["proxy"]), { rows: Number(r["n"]), distinctIds: Number(r["ids"]), distinctSeqs: Number(r["seqs"]), minSeq: Number(r["lo"]), maxSeq: Number(r["hi"]) }]),
    );
    const problems: string[] = [];
    for (const [proxy, want] of expected) {
      const got = stored.get(proxy);
      if (!got) problems.push(`${proxy}: no rows, expected ${want}`);
      else if (got.rows !== want || got.distinctIds !== want || got.distinctSeqs !== want || got.minSeq !== 1 || got.maxSeq !== want) {
        problems.push(`${proxy}: ${got.rows} rows, ${got.distinctIds} ids, ${got.distinctSeqs} seqs in ${got.minSeq}..${got.maxSeq}; expected ${want} (seq 1..${want})`);
      }
    }
    for (const proxy of stored.keys()) if (!expected.has(proxy)) problems.push(`${proxy}: rows from an unexpected proxy`);
    const rows = [...stored.values()].reduce((n, s) => n + s.rows, 0);
    const want = [...expected.values()].reduce((n, v) => n + v, 0);
    return { ok: problems.length === 0, rows, expected: want, problems };
  } finally {
    await store.close();
  }
}
