import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import { addGrpcService } from "../../proto/grpc-adapter.js";
import { SessionRecordSchema, SessionService } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { SessionBatch, SessionRecord } from "../../proto/gen/agentgate/v1/session_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ReportAckSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import { encodeChainFields, hashContent, verifyChain } from "../../common/recording/chain.js";
import { SEGMENT_HEADER_BYTES } from "../recording/segment-file.js";
import { scanFrames } from "../recording/frame.js";
import { openSealed } from "../recording/sealed-record.js";
import { testRecord } from "../recording/testing/test-record.js";
import { startReporter } from "./report-client.js";
import type { Reporter, ReporterOptions, ReportSpool } from "./report-client.js";
import { openSpool } from "./spool.js";
import type { Spool } from "./spool.js";

type AckInit = MessageInitShape<typeof ReportAckSchema>;
type ReportCall = grpc.ServerDuplexStream<SessionBatch, AckInit>;

/** What the fake control plane does with one batch (`records`: decoded); `stream` and `batch` count from 0. */
type Behaviour = (batch: SessionBatch, at: { stream: number; batch: number }, call: ReportCall, records: SessionRecord[]) => "ack" | "handled";

/** A batch's records as the control plane opens them: each one's hash checked over the bytes received. */
function openBatch(batch: SessionBatch): SessionRecord[] {
  return [
    ...batch.records,
    ...batch.sealedRecords.map((bytes) => {
      const opened = openSealed(bytes);
      if (!opened.ok) throw new Error(`record shipped differently than sealed: ${opened.reason}`);
      return opened.record;
    }),
  ];
}

/**
 * An in-test SessionService: stores records by id (idempotent, like the real ingest will)
 * and acks them, unless `behaviour` takes over a batch.
 */
class FakeControlPlane {
  readonly stored = new Map<string, SessionRecord>();
  /** Every sealed record received, as bytes, in arrival order. */
  readonly receivedBytes: Uint8Array[] = [];
  received = 0;
  streams = 0;
  readonly authorizations: string[] = [];
  behaviour: Behaviour = () => "ack";
  #server: grpc.Server | undefined;

  async listen(port = 0): Promise<number> {
    const server = new grpc.Server();
    addGrpcService(server, SessionService, {
      report: (call) => {
        const stream = this.streams++;
        let batchNo = 0;
        this.authorizations.push(String(call.metadata.get("authorization")[0] ?? ""));
        call.sendMetadata(new grpc.Metadata()); // as the real control plane does
        call.on("data", (batch: SessionBatch) => {
          const records = openBatch(batch);
          this.receivedBytes.push(...batch.sealedRecords);
          this.received += records.length;
          if (this.behaviour(batch, { stream, batch: batchNo++ }, call, records) === "handled") return;
          for (const r of records) if (!this.stored.has(r.id)) this.stored.set(r.id, r);
          call.write({ ids: records.map((r) => r.id) });
        });
        call.on("end", () => call.end());
        call.on("error", () => undefined);
      },
    });
    this.#server = server;
    return new Promise((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  }

  stop(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
  }
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function newSpool(): Promise<Spool> {
  const dir = await mkdtemp(join(tmpdir(), "agentgate-report-"));
  const spool = await openSpool({ dir, maxBytes: 256 * 1024 * 1024, onEvent: () => undefined });
  cleanup.push(async () => {
    await spool.close();
    await rm(dir, { recursive: true, force: true });
  });
  return Object.assign(spool, { dir });
}

async function newControlPlane(port = 0): Promise<{ cp: FakeControlPlane; port: number }> {
  const cp = new FakeControlPlane();
  const bound = await cp.listen(port);
  cleanup.push(() => cp.stop());
  return { cp, port: bound };
}

const logs: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];

function reporter(port: number, spool: ReportSpool, extra: Partial<ReporterOptions> = {}): Reporter {
  const r = startReporter({
    address: `127.0.0.1:${port}`,
    proxyId: "proxy-test",
    proxyToken: "proxy-secret",
    spool,
    batchSize: 50,
    flushIntervalMs: 20,
    backoff: { baseMs: 20, capMs: 200 },
    log: (level, msg, fields) => logs.push({ level, msg, ...(fields ? { fields } : {}) }),
    ...extra,
  });
  cleanup.push(() => r.stop());
  return r;
}

async function appendMany(spool: Spool, n: number, from = 0): Promise<SessionRecord[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => spool.append(testRecord(from + i))));
}

/** Resolves once `cond` holds, polling (fails the test after `ms`). */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function sortedBySeq(records: Iterable<SessionRecord>): SessionRecord[] {
  return [...records].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
}

describe("report client", () => {
  test("append → reported → acked → removed from the spool, with the proxy token", async () => {
    const { cp, port } = await newControlPlane();
    const spool = await newSpool();
    const r = reporter(port, spool);
    const sealed = await appendMany(spool, 7); // a partial batch: goes out on the linger timer
    expect(await r.flush(5000)).toBe(true);
    expect([...cp.stored.keys()].sort()).toEqual(sealed.map((s) => s.id).sort());
    expect(cp.stored.get(sealed[3]!.id)!.hash).toBe(sealed[3]!.hash);
    expect(spool.stats().pendingCount).toBe(0);
    expect(await spool.pending(100)).toEqual([]);
    expect(cp.authorizations[0]).toBe("Bearer proxy-secret");
    expect(r.status()).toMatchObject({ connected: true, pending: 0, inFlightRecords: 0, acked: 7, rejected: 0, lastError: null });
  });

  test("each record is shipped as the exact bytes spooled and hashed: no decode, no re-encode", async () => {
    const { cp, port } = await newControlPlane();
    const spool = (await newSpool()) as Spool & { dir: string };
    const sealed = await appendMany(spool, 12);
    // The frames on disk, before anything is acked (and the segment possibly deleted).
    const onDisk: Buffer[] = [];
    for (const name of (await readdir(spool.dir)).filter((n) => n.endsWith(".log") && n.startsWith("seg-")).sort()) {
      const data = await readFile(join(spool.dir, name));
      for (const f of scanFrames(data, SEGMENT_HEADER_BYTES).frames) onDisk.push(data.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength));
    }
    expect(onDisk).toHaveLength(12);
    const r = reporter(port, spool);
    expect(await r.flush(5000)).toBe(true);
    expect(cp.receivedBytes.map((b) => Buffer.from(b).toString("hex"))).toEqual(onDisk.map((b) => b.toString("hex")));
    for (const [i, bytes] of cp.receivedBytes.entries()) {
      // The hash covers the received bytes themselves: seq/prev_hash link, then the content before the chain fields.
      const record = sealed.find((s) => s.id === cp.stored.get(fromBinary(SessionRecordSchema, bytes).id)!.id)!;
      const tail = encodeChainFields(record.seq, record.prevHash, record.hash);
      expect(Buffer.from(bytes.subarray(bytes.length - tail.length)).equals(Buffer.from(tail))).toBe(true);
      expect(hashContent(record.seq, record.prevHash, bytes.subarray(0, bytes.length - tail.length))).toBe(record.hash);
      expect(i).toBe(Number(record.seq) - 1);
    }
  });

  test("during a catch-up, records that end after the control plane is back are stored before the backlog is", async () => {
    const probe = await newControlPlane();
    const port = probe.port;
    probe.cp.stop();
    const spool = await newSpool();
    const r = reporter(port, spool, { batchSize: 20, maxInFlightBatches: 2 });
    const backlog = await appendMany(spool, 400); // appended while the control plane is down
    const { cp } = await newControlPlane(port);
    const order: string[] = [];
    const held: Array<() => void> = [];
    let holding = true;
    cp.behaviour = (_batch, _at, call, records) => {
      for (const rec of records) {
        if (cp.stored.has(rec.id)) continue;
        cp.stored.set(rec.id, rec);
        order.push(rec.id);
      }
      const ack = () => void call.write({ ids: records.map((rec) => rec.id) });
      if (holding) held.push(ack);
      else ack();
      return "handled";
    };
    await until(() => held.length === 2); // both in-flight batches arrived: the reporter waits for acks
    const fresh = await appendMany(spool, 5, 400); // exchanges that end after the return
    holding = false;
    for (const ack of held) ack();
    expect(await r.flush(10_000)).toBe(true);
    expect(cp.stored.size).toBe(405);
    const lastBacklog = Math.max(...backlog.map((b) => order.indexOf(b.id)));
    for (const f of fresh) expect(order.indexOf(f.id)).toBeLessThan(lastBacklog - 100);
    expect(verifyChain(sortedBySeq(cp.stored.values()))).toEqual({ ok: true });
  });

  test("a backlog drains in large oldest-first batches between small newest-first ones; every record stored once", async () => {
    const probe = await newControlPlane();
    const port = probe.port;
    probe.cp.stop();
    const spool = await newSpool();
    const r = reporter(port, spool, { batchSize: 20, backlogBatchSize: 100, maxInFlightBatches: 2 });
    const backlog = await appendMany(spool, 1000); // appended while the control plane is down
    const { cp } = await newControlPlane(port);
    const batches: Array<{ size: number; seqs: Set<bigint> }> = [];
    cp.behaviour = (_batch, _at, _call, records) => {
      if (records.length > 0) batches.push({ size: records.length, seqs: new Set(records.map((rec) => rec.seq)) });
      return "ack";
    };
    const sizeOfBatchWith = (seq: bigint) => batches.find((b) => b.seqs.has(seq))?.size;
    expect(await r.flush(10_000)).toBe(true);
    expect(cp.stored.size).toBe(1000);
    expect(verifyChain(sortedBySeq(cp.stored.values()))).toEqual({ ok: true });
    // The oldest records went in a batch of 100, the newest in one of 20; none is larger than 100.
    expect(sizeOfBatchWith(backlog[0]!.seq)).toBe(100);
    expect(sizeOfBatchWith(backlog[999]!.seq)).toBe(20);
    expect(Math.max(...batches.map((b) => b.size))).toBe(100);
    expect(batches.length).toBeLessThan(1000 / 20); // fewer batches than at batchSize alone
    // Once caught up, records that fit in flight (here 30 ≤ 2 × 20) go in batches of batchSize again.
    batches.length = 0;
    await appendMany(spool, 30, 1000);
    expect(await r.flush(10_000)).toBe(true);
    expect(Math.max(...batches.map((b) => b.size))).toBeLessThanOrEqual(20);
    expect(cp.stored.size).toBe(1030);
  });

  test("a new stream starts by reporting the newest record the control plane is known to have stored", async () => {
    const first = await newControlPlane();
    const spool = await newSpool();
    const r = reporter(first.port, spool);
    const sealed = await appendMany(spool, 5);
    expect(await r.flush(5000)).toBe(true);
    await r.stop();
    const heads: Array<{ seq: bigint; hash: string } | undefined> = [];
    const second = await newControlPlane();
    second.cp.behaviour = (batch) => {
      heads.push(batch.ackedHead && { seq: batch.ackedHead.seq, hash: batch.ackedHead.hash });
      return "ack";
    };
    await appendMany(spool, 3, 5);
    const again = reporter(second.port, spool);
    expect(await again.flush(5000)).toBe(true);
    expect(heads[0]).toEqual({ seq: 5n, hash: sealed.sort((a, b) => Number(a.seq - b.seq))[4]!.hash });
  });

  test("control plane down at start, then up: everything arrives", async () => {
    const probe = await newControlPlane();
    const port = probe.port;
    probe.cp.stop(); // the port is now closed: connection refused
    const spool = await newSpool();
    const r = reporter(port, spool);
    const sealed = await appendMany(spool, 120);
    await until(() => r.status().streams >= 2); // it failed and retried at least once
    expect(r.status().connected).toBe(false);
    expect(r.status().lastError).toMatch(/UNAVAILABLE/);
    expect(spool.stats().pendingCount).toBe(120);

    const { cp } = await newControlPlane(port);
    expect(await r.flush(10_000)).toBe(true);
    expect(cp.stored.size).toBe(120);
    expect(verifyChain(sortedBySeq(cp.stored.values()))).toEqual({ ok: true });
    expect(sealed.every((s) => cp.stored.has(s.id))).toBe(true);
  });

  test("reconnect delays never exceed 1 s however long the outage, and reset as soon as a stream is established (not only on an ack)", async () => {
    const probe = await newControlPlane();
    const port = probe.port;
    probe.cp.stop();
    const spool = await newSpool();
    const from = logs.length;
    // Jitter pinned near its ceiling, the production backoff policy (no override).
    const r = reporter(port, spool, { backoff: undefined, random: () => 0.999 });
    await appendMany(spool, 60);
    const delays = () => logs.slice(from).filter((l) => l.msg === "report stream ended; reconnecting").map((l) => Number(l.fields!["retryInMs"]));
    await until(() => delays().length >= 7, 20_000); // long enough for the old 10 s ceiling to show
    expect(delays().slice(0, 7)).toEqual([99, 199, 399, 799, 999, 999, 999]);

    // The control plane comes back: it accepts the stream (headers) but never acks.
    const { cp } = await newControlPlane(port);
    cp.behaviour = () => "handled";
    await until(() => r.status().connected, 10_000);
    const before = delays().length;
    cp.stop(); // a connected stream ends: the next attempt comes after the shortest delay
    await until(() => delays().length > before, 10_000);
    expect(delays()[before]).toBe(99);

    const back = await newControlPlane(port);
    expect(await r.flush(10_000)).toBe(true);
    expect(back.cp.stored.size + cp.stored.size).toBe(60);
  }, 40_000);

  test("stream broken mid-batch: the batch is resent and stored once", async () => {
    const { cp, port } = await newControlPlane();
    cp.behaviour = (_batch, at, call, records) => {
      if (at.stream !== 0 || at.batch !== 1) return "ack";
      // Store half of the second batch, then the stream breaks before any ack.
      for (const rec of records.slice(0, records.length / 2)) cp.stored.set(rec.id, rec);
      call.emit("error", { code: grpc.status.UNAVAILABLE, details: "control plane crashed" });
      return "handled";
    };
    const spool = await newSpool();
    const r = reporter(port, spool, { maxInFlightBatches: 1, backlogBatchSize: 50 });
    await appendMany(spool, 200);
    expect(await r.flush(10_000)).toBe(true);
    expect(cp.streams).toBeGreaterThanOrEqual(2);
    expect(cp.received).toBeGreaterThan(200); // some records went twice…
    expect(cp.stored.size).toBe(200); // …and are stored once
    expect(verifyChain(sortedBySeq(cp.stored.values()))).toEqual({ ok: true });
    expect(logs.some((l) => l.msg === "report stream ended; reconnecting")).toBe(true);
  });

  test("control plane vanishes (hard shutdown) with batches unacked, comes back: all arrive once", async () => {
    const first = await newControlPlane();
    const port = first.port;
    first.cp.behaviour = (_batch, at) => (at.batch >= 1 ? "handled" : "ack"); // swallow batches after the first
    const spool = await newSpool();
    const r = reporter(port, spool);
    await appendMany(spool, 300);
    await until(() => first.cp.received >= 100);
    first.cp.stop();
    const { cp } = await newControlPlane(port);
    expect(await r.flush(10_000)).toBe(true);
    const all = new Map([...first.cp.stored, ...cp.stored]);
    expect(all.size).toBe(300);
  });

  test("an error-only ack and a missing ack both restart the stream; nothing is lost", async () => {
    const { cp, port } = await newControlPlane();
    cp.behaviour = (_batch, at, call) => {
      if (at.stream === 0 && at.batch === 0) {
        call.write({ error: "database unavailable" });
        return "handled";
      }
      if (at.stream === 1 && at.batch === 0) return "handled"; // silence: never acked
      return "ack";
    };
    const spool = await newSpool();
    const r = reporter(port, spool, { ackTimeoutMs: 300 });
    await appendMany(spool, 60);
    expect(await r.flush(10_000)).toBe(true);
    expect(cp.streams).toBeGreaterThanOrEqual(3);
    expect(cp.stored.size).toBe(60);
    expect(logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        "report: control plane could not store a batch; restarting the stream",
        "report: batch not acked in time; restarting the stream",
      ]),
    );
  });

  test("rejected ids are kept aside in rejected.log, logged, and not resent", async () => {
    const { cp, port } = await newControlPlane();
    cp.behaviour = (_batch, _at, call, records) => {
      const bad = records.filter((rec) => rec.requestId === "req-3").map((rec) => rec.id);
      const good = records.filter((rec) => !bad.includes(rec.id));
      for (const rec of good) cp.stored.set(rec.id, rec);
      call.write({ ids: good.map((rec) => rec.id), rejectedIds: bad, error: bad.length ? "broken chain" : "" });
      return "handled";
    };
    const spool = (await newSpool()) as Spool & { dir: string };
    const r = reporter(port, spool);
    const sealed = await appendMany(spool, 10);
    expect(await r.flush(5000)).toBe(true);
    await until(() => spool.stats().rejectedCount === 1);
    expect(cp.stored.size).toBe(9);
    expect(r.status().rejected).toBe(1);
    expect(spool.stats().pendingCount).toBe(0);
    const kept = await readFile(join(spool.dir, "rejected.log"));
    const [frame] = scanFrames(kept, 0).frames;
    expect(fromBinary(SessionRecordSchema, kept.subarray(frame!.payloadOffset, frame!.payloadOffset + frame!.payloadLength)).id).toBe(sealed[3]!.id);
    expect(logs.some((l) => l.level === "error" && l.msg.includes("rejected"))).toBe(true);
    const receivedBefore = cp.received;
    await new Promise((res) => setTimeout(res, 100));
    expect(cp.received).toBe(receivedBefore);
  });

  test("a failing spool read is logged, not thrown, and retried", async () => {
    const { cp, port } = await newControlPlane();
    const spool = await newSpool();
    let failures = 1;
    const flaky: ReportSpool = {
      pendingSealed: (limit, options) => (failures-- > 0 ? Promise.reject(new Error("disk on fire")) : spool.pendingSealed(limit, options)),
      ack: (ids) => spool.ack(ids),
      quarantine: (ids) => spool.quarantine(ids),
      stats: () => spool.stats(),
      onAppend: (fn) => spool.onAppend(fn),
    };
    const r = reporter(port, flaky);
    await appendMany(spool, 5);
    expect(await r.flush(5000)).toBe(true);
    expect(cp.stored.size).toBe(5);
    expect(logs.some((l) => l.msg === "report: reading the spool failed")).toBe(true);
  });

  test("2,000 records go through, chained and complete", async () => {
    const { cp, port } = await newControlPlane();
    const spool = await newSpool();
    const r = reporter(port, spool, { batchSize: 100 });
    const t0 = performance.now();
    await appendMany(spool, 2000);
    const appended = performance.now();
    expect(await r.flush(30_000)).toBe(true);
    const done = performance.now();
    expect(cp.stored.size).toBe(2000);
    expect(verifyChain(sortedBySeq(cp.stored.values()))).toEqual({ ok: true });
    expect(spool.stats().pendingCount).toBe(0);
    process.stdout.write(
      `report: 2000 records appended in ${(appended - t0).toFixed(0)} ms, all acked after ${(done - t0).toFixed(0)} ms\n`,
    );
  });
});
