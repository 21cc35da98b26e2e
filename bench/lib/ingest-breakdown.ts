/**
 * Where the control plane's CPU per ingested record goes, measured in-process on the same
 * database without gRPC: the whole `ingestSessions` of a 200-record batch of sealed bytes (as
 * proxies ship them), and two of its steps on their own — opening the bytes (`openScanned`:
 * scan + hash check over the received bytes) and storing the batch the way ingest does
 * (PostgreSQL: `storeScannedSessions`, binary arrays; SQLite: `storeSessions`, one JSON
 * parameter). Each batch is fresh records of a chain of its own proxy id, so nothing is a resend.
 */
import { openStore } from "../../control-plane/store/client.js";
import { sessionPool, storeScannedSessions, storeSessions } from "../../control-plane/store/sessions.js";
import { ingestSessions, openScanned } from "../../control-plane/sessions/ingest.js";
import { rowFromScanned, type ScannedRecord } from "../../control-plane/sessions/record-mapping.js";
import { ChainWriter, EMPTY_CHAIN, encodeContent } from "../../common/recording/chain.js";
import { sealedBytes } from "../../data-plane/recording/sealed-record.js";
import { testRecord } from "../../data-plane/recording/testing/test-record.js";

/** CPU (user + system) per record, µs, of each step, and the wall time of a batch. */
export interface IngestBreakdown {
  readonly batchSize: number;
  readonly batches: number;
  readonly ingestUs: number;
  readonly ingestBatchMs: number;
  readonly hashUs: number;
  readonly storeUs: number;
  readonly storeBatchMs: number;
}

/** Sealed records (bytes, as shipped) of a new chain owned by `proxyId`. */
function sealedBatch(proxyId: string, size: number, bodyBytes: number): Uint8Array[] {
  const chain = new ChainWriter(EMPTY_CHAIN);
  return Array.from({ length: size }, (_, i) => {
    const record = testRecord(i + 1, bodyBytes);
    record.proxyId = proxyId;
    return sealedBytes(chain.sealContent(encodeContent(record)));
  });
}

const opened = (bytes: Uint8Array): ScannedRecord => {
  const o = openScanned(bytes);
  if (!o.ok) throw new Error(o.reason);
  return o.record;
};

/** Runs `step` once per batch; CPU µs per record and wall ms per batch. */
async function timed<T>(batches: readonly T[][], step: (batch: T[]) => Promise<unknown>): Promise<{ us: number; batchMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const batch of batches) await step(batch);
  const used = process.cpuUsage(cpu);
  const records = batches.reduce((n, b) => n + b.length, 0);
  return { us: (used.user + used.system) / records, batchMs: (performance.now() - started) / batches.length };
}

/** Measures on the database at `url` (already migrated); adds `2 × batches × batchSize` rows. */
export async function measureIngestBreakdown(url: string, opts: { batches: number; batchSize: number; bodyBytes: number }): Promise<IngestBreakdown> {
  const store = await openStore(url, { migrate: false });
  try {
    const make = (tag: string) => Array.from({ length: opts.batches }, (_, i) => sealedBatch(`breakdown-${tag}-${i}`, opts.batchSize, opts.bodyBytes));
    // One unmeasured batch first: the client's first query pays for connections and JIT.
    const [warm] = make("warm");
    await ingestSessions(store.prisma, "breakdown-warm-0", warm!, store.provider);
    const ingest = await timed(make("ingest"), (b) => ingestSessions(store.prisma, opened(b[0]!).proxyId, b, store.provider));
    const hash = await timed(make("hash"), async (b) => b.forEach(opened));
    const scanned = make("store").map((b) => b.map(opened));
    const pool = sessionPool(store.prisma);
    const store_ = await timed(scanned, (b) => (pool ? storeScannedSessions(pool, b) : storeSessions(store.prisma, b.map(rowFromScanned), store.provider)));
    return {
      batchSize: opts.batchSize,
      batches: opts.batches,
      ingestUs: ingest.us,
      ingestBatchMs: ingest.batchMs,
      hashUs: hash.us,
      storeUs: store_.us,
      storeBatchMs: store_.batchMs,
    };
  } finally {
    await store.close();
  }
}
