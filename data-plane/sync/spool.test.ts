import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { constants, readFileSync } from "node:fs";
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { SessionRecordSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import { GENESIS_HASH, verifyChain } from "../../common/recording/chain.js";
import { frameHeader, scanFrames } from "../recording/frame.js";
import { testRecord } from "../recording/testing/test-record.js";
import { SpoolError, openSpool } from "./spool.js";
import type { Spool, SpoolEvent, SpoolOptions } from "./spool.js";

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = join(here, "..", "..");
const dirs: string[] = [];
const open: Spool[] = [];
const children: ChildProcess[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agentgate-spool-"));
  dirs.push(dir);
  return dir;
}

async function openTest(dir: string, options: Partial<SpoolOptions> = {}, events: SpoolEvent[] = []): Promise<Spool> {
  const spool = await openSpool({ dir, maxBytes: 64 * 1024 * 1024, onEvent: (e) => events.push(e), ...options });
  open.push(spool);
  return spool;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".log") && n.startsWith("seg-")).sort();
}

afterEach(async () => {
  // A failed assertion must not leave the crash-test child running.
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const s of open.splice(0)) await s.close();
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("spool", () => {
  test("append seals and persists; pending lists in order; ack removes", async () => {
    const spool = await openTest(await tempDir());
    const sealed = await Promise.all([1, 2, 3].map((n) => spool.append(testRecord(n))));
    expect(sealed.map((r) => r.seq)).toEqual([1n, 2n, 3n]);
    expect(sealed[0]!.prevHash).toBe(GENESIS_HASH);
    const pending = await spool.pending(10);
    expect(pending.map((r) => r.id)).toEqual(sealed.map((r) => r.id));
    expect(pending[2]!.hash).toBe(sealed[2]!.hash);
    expect(verifyChain(pending)).toEqual({ ok: true });
    expect(spool.stats()).toMatchObject({ pendingCount: 3, queuedCount: 0 });

    await spool.ack([sealed[1]!.id, "unknown-id"]);
    expect((await spool.pending(10)).map((r) => r.id)).toEqual([sealed[0]!.id, sealed[2]!.id]);
    expect((await spool.pending(1)).map((r) => r.id)).toEqual([sealed[0]!.id]);
    expect((await spool.pending(10, { exclude: new Set([sealed[0]!.id]) })).map((r) => r.id)).toEqual([sealed[2]!.id]);
    await spool.ack([sealed[0]!.id, sealed[2]!.id]);
    expect(await spool.pending(10)).toEqual([]);
    expect(spool.stats().pendingBytes).toBe(0);
  });

  test("pending honours maxBytes but always returns at least one record", async () => {
    const spool = await openTest(await tempDir());
    for (let i = 0; i < 5; i++) await spool.append(testRecord(i, 1000));
    expect(await spool.pending(10, { maxBytes: 10 })).toHaveLength(1);
    const frame = 8 + toBinary(SessionRecordSchema, (await spool.pending(1))[0]!).length;
    expect(await spool.pending(10, { maxBytes: 2 * frame + 10 })).toHaveLength(2);
  });

  test("reopen rebuilds the pending set and continues the chain", async () => {
    const dir = await tempDir();
    const first = await openTest(dir, { segmentBytes: 4096 });
    const a = [];
    for (let i = 0; i < 20; i++) a.push(await first.append(testRecord(i)));
    await first.ack(a.slice(0, 5).map((r) => r.id));
    await first.close();

    const second = await openTest(dir, { segmentBytes: 4096 });
    expect((await second.pending(100)).map((r) => r.id)).toEqual(a.slice(5).map((r) => r.id));
    expect(second.chainState()).toEqual({ seq: 20n, lastHash: a[19]!.hash });
    const next = await second.append(testRecord(20));
    expect(next.seq).toBe(21n);
    expect(verifyChain(await second.pending(100), { anchor: { seq: 5n, lastHash: a[4]!.hash } })).toEqual({ ok: true });
  });

  test("fully acked segments are deleted, the newest is kept, and the chain survives it", async () => {
    const dir = await tempDir();
    const spool = await openTest(dir, { segmentBytes: 2048 });
    const sealed = [];
    for (let i = 0; i < 30; i++) sealed.push(await spool.append(testRecord(i)));
    const before = await segmentFiles(dir);
    expect(before.length).toBeGreaterThan(3);
    await spool.ack(sealed.map((r) => r.id));
    expect(await segmentFiles(dir)).toEqual([before.at(-1)]);
    expect((await readdir(dir)).filter((n) => n.endsWith(".acks")).length).toBeLessThanOrEqual(1);
    await spool.close();

    const reopened = await openTest(dir, { segmentBytes: 2048 });
    expect(reopened.stats().pendingCount).toBe(0);
    expect(reopened.chainState()).toEqual({ seq: 30n, lastHash: sealed[29]!.hash });
    const next = await reopened.append(testRecord(30));
    expect(next.prevHash).toBe(sealed[29]!.hash);
    // The next rotation makes the old fully-acked tail deletable.
    for (let i = 0; i < 10; i++) await reopened.append(testRecord(31 + i));
    await reopened.ack([]);
    expect((await segmentFiles(dir)).includes(before.at(-1)!)).toBe(false);
  });

  test("a torn last frame is detected and truncated; everything before it survives", async () => {
    const dir = await tempDir();
    const spool = await openTest(dir);
    const sealed = [];
    for (let i = 0; i < 10; i++) sealed.push(await spool.append(testRecord(i)));
    await spool.close();
    const [seg] = await segmentFiles(dir);
    const path = join(dir, seg!);
    const goodSize = (await stat(path)).size;
    // A power cut mid-write: a full header and half the payload of the next frame.
    const data = await readFile(path);
    const lastFrame = scanFrames(data, 52).frames.at(-1)!;
    await appendFile(path, data.subarray(lastFrame.offset, lastFrame.offset + 8 + 40));

    const events: SpoolEvent[] = [];
    const reopened = await openTest(dir, {}, events);
    expect(events).toContainEqual({ type: "recovered", segment: seg, truncatedBytes: 48 });
    expect((await stat(path)).size).toBe(goodSize);
    expect((await reopened.pending(100)).map((r) => r.id)).toEqual(sealed.map((r) => r.id));
    const next = await reopened.append(testRecord(10));
    expect(next.seq).toBe(11n);
    await reopened.close();

    // A zero-filled tail (size grew, data never landed) and a bit flip are cut the same way.
    await appendFile(path, Buffer.alloc(300));
    const flipped = await openTest(dir, {}, events);
    expect((await flipped.pending(100))).toHaveLength(11);
    await flipped.close();
    const bytes = await readFile(path);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    await writeFile(path, bytes);
    const afterFlip = await openTest(dir, {}, events);
    expect((await afterFlip.pending(100)).map((r) => r.id)).toEqual(sealed.map((r) => r.id));
    expect(afterFlip.chainState().seq).toBe(10n);
  });

  test("a torn ack log line is ignored (the record is resent, never lost)", async () => {
    const dir = await tempDir();
    const spool = await openTest(dir);
    const [a, b] = [await spool.append(testRecord(1)), await spool.append(testRecord(2))];
    await spool.ack([a.id]);
    await spool.close();
    const ackLog = (await readdir(dir)).find((n) => n.endsWith(".acks"))!;
    await appendFile(join(dir, ackLog), b.id.slice(0, 20)); // cut before its newline
    const reopened = await openTest(dir);
    expect((await reopened.pending(10)).map((r) => r.id)).toEqual([b.id]);
  });

  test("warns at 80%, then fails closed with SPOOL_FULL without consuming a seq; acks make room", async () => {
    const events: SpoolEvent[] = [];
    const spool = await openTest(await tempDir(), { maxBytes: 16 * 1024, segmentBytes: 2048 }, events);
    const sealed = [];
    let refusal: unknown;
    for (let i = 0; i < 100; i++) {
      try {
        sealed.push(await spool.append(testRecord(i, 300)));
      } catch (err) {
        refusal = err;
        break;
      }
    }
    expect(refusal).toBeInstanceOf(SpoolError);
    expect((refusal as SpoolError).code).toBe("SPOOL_FULL");
    const types = events.map((e) => e.type);
    expect(types.indexOf("fill-warning")).toBeGreaterThanOrEqual(0);
    expect(types.indexOf("fill-warning")).toBeLessThan(types.indexOf("full"));
    await expect(spool.append(testRecord(999))).rejects.toMatchObject({ code: "SPOOL_FULL" });
    expect(spool.chainState().seq).toBe(BigInt(sealed.length));

    await spool.ack(sealed.map((r) => r.id));
    expect(events.map((e) => e.type)).toContain("fill-ok");
    const next = await spool.append(testRecord(1000));
    expect(next.seq).toBe(BigInt(sealed.length + 1));
    expect(next.prevHash).toBe(sealed.at(-1)!.hash);
  });

  test("refuses records larger than maxRecordBytes, and appends after close", async () => {
    const spool = await openTest(await tempDir(), { maxRecordBytes: 1024 });
    await expect(spool.append(testRecord(1, 5000))).rejects.toMatchObject({ code: "SPOOL_RECORD_TOO_LARGE" });
    expect((await spool.append(testRecord(2))).seq).toBe(1n);
    await spool.close();
    await expect(spool.append(testRecord(3))).rejects.toMatchObject({ code: "SPOOL_CLOSED" });
  });

  test("a directory is locked against a second open; a dead owner's lock is taken over", async () => {
    const dir = await tempDir();
    const spool = await openTest(dir);
    await expect(openSpool({ dir, maxBytes: 1 << 20 })).rejects.toMatchObject({ code: "SPOOL_LOCKED" });
    await spool.close();
    const racing = await Promise.allSettled([openSpool({ dir, maxBytes: 1 << 20 }), openSpool({ dir, maxBytes: 1 << 20 })]);
    expect(racing.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    for (const r of racing) if (r.status === "fulfilled") await r.value.close();
    await writeFile(join(dir, "LOCK"), "999999999 1\n"); // no such pid
    const again = await openTest(dir);
    expect(again.stats().pendingCount).toBe(0);
  });

  test("quarantined records leave the pending set and are kept in rejected.log", async () => {
    const dir = await tempDir();
    const spool = await openTest(dir);
    const sealed = [];
    for (let i = 0; i < 4; i++) sealed.push(await spool.append(testRecord(i)));
    await spool.quarantine([sealed[1]!.id, sealed[3]!.id]);
    expect((await spool.pending(10)).map((r) => r.id)).toEqual([sealed[0]!.id, sealed[2]!.id]);
    expect(spool.stats().rejectedCount).toBe(2);
    const kept = await readFile(join(dir, "rejected.log"));
    const frames = scanFrames(kept, 0).frames;
    expect(frames.map((f) => fromBinary(SessionRecordSchema, kept.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength)).id))
      .toEqual([sealed[1]!.id, sealed[3]!.id]);
  });

  test("group commit: concurrent appends share fsyncs (throughput printed)", async () => {
    const spool = await openTest(await tempDir());
    let commits = 0;
    spool.onAppend(() => commits++);

    let t = performance.now();
    for (let i = 0; i < 300; i++) await spool.append(testRecord(i));
    const sequentialPerSec = 300 / ((performance.now() - t) / 1000);
    expect(commits).toBe(300); // one fdatasync per append when nobody shares

    // 64 writers, each appending one record after another (like 64 concurrent requests).
    commits = 0;
    const writers = 64;
    const each = 50;
    t = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < each; i++) await spool.append(testRecord(w * each + i));
      }),
    );
    const concurrentPerSec = (writers * each) / ((performance.now() - t) / 1000);
    expect(commits).toBeLessThan((writers * each) / 8);
    const all = await spool.pending(10_000);
    expect(all).toHaveLength(300 + writers * each);
    expect(verifyChain(all)).toEqual({ ok: true });
    process.stdout.write(
      `spool throughput: 1 writer ${sequentialPerSec.toFixed(0)} appends/s (1 fdatasync each); ` +
        `${writers} writers ${concurrentPerSec.toFixed(0)} appends/s, ${((writers * each) / commits).toFixed(1)} appends per fdatasync\n`,
    );
  });

  test("a strict append resolves only once durable, written through an O_DSYNC descriptor; a failed durable write fails the spool closed", async () => {
    const dir = await tempDir();
    const spool = await openTest(dir);
    await spool.append(testRecord(0)); // segment exists: the next write is the append's
    const probe = await import("node:fs/promises").then((fs) => fs.open(join(dir, "probe"), "w"));
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown>; datasync: () => Promise<void> };
    await probe.close();
    const real = { write: proto.write, datasync: proto.datasync };
    let release!: () => void;
    let fail = false;
    const held: Array<{ dsync: boolean }> = [];
    let datasyncs = 0;
    proto.write = function (this: { fd: number }, ...args: unknown[]) {
      // The descriptor's open flags, as the kernel has them (octal in fdinfo).
      const flags = parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${this.fd}`, "utf8"))![1]!, 8);
      held.push({ dsync: (flags & constants.O_DSYNC) !== 0 });
      return new Promise<void>((resolve, reject) => {
        release = () => (fail ? reject(Object.assign(new Error("EIO: i/o error"), { code: "EIO" })) : resolve());
      }).then(() => real.write.apply(this, args));
    };
    proto.datasync = function (this: unknown) {
      datasyncs++;
      return real.datasync.call(this);
    };
    try {
      let resolved = false;
      const pending = spool.append(testRecord(1)).then(() => (resolved = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(resolved).toBe(false); // being written: not acknowledged
      // Only record 0 is pending: record 1 left the queue for the commit but is not durable yet.
      expect(spool.stats()).toMatchObject({ pendingCount: 1, queuedCount: 0 });
      expect(held).toEqual([{ dsync: true }]); // durable when the write returns, without an fdatasync
      release();
      await pending;
      expect(resolved).toBe(true);
      expect(datasyncs).toBe(0);

      fail = true;
      const doomed = spool.append(testRecord(2));
      await new Promise((r) => setTimeout(r, 20));
      release();
      await expect(doomed).rejects.toMatchObject({ code: "SPOOL_IO" });
      await expect(spool.append(testRecord(3))).rejects.toMatchObject({ code: "SPOOL_IO" });
    } finally {
      proto.write = real.write;
      proto.datasync = real.datasync;
    }
    await spool.close();
    // Reopening trusts only what is on disk; the chain continues from there.
    const reopened = await openTest(dir);
    const records = await reopened.pending(10);
    expect(records.length).toBeGreaterThanOrEqual(2);
    expect(verifyChain([...records, await reopened.append(testRecord(4))])).toEqual({ ok: true });
  });

  test("a duplicate id is refused (it would leave a hole in the control plane's chain)", async () => {
    const spool = await openTest(await tempDir());
    const r = testRecord(1);
    const first = spool.append(r);
    await expect(spool.append(r)).rejects.toThrow(/already appended/);
    await first;
    await expect(spool.append(r)).rejects.toThrow(/already appended/);
    expect(spool.chainState().seq).toBe(1n);
  });

  test.each(["fsync", "written"] as const)("SIGKILL mid-write: every append that resolved is still there after reopen (durability %s)", async (durability) => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ["--import", "tsx", join(here, "../recording/testing/spool-crash-child.ts"), dir, durability], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    const confirmed: string[] = [];
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    let buffered = "";
    await new Promise<void>((resolve, reject) => {
      child.on("exit", () => reject(new Error(`child exited early: ${stderr}`)));
      child.stdout.on("data", (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines) if (line !== "ready") confirmed.push(line);
        if (confirmed.length >= 1500) resolve();
      });
    });
    child.kill("SIGKILL"); // while its 16 writers are mid-append
    expect(await exited).toBe("SIGKILL");
    // Lines still in the pipe were confirmed too.
    for (const line of buffered.split("\n")) if (line.length === 36) confirmed.push(line);

    // SIGKILL cannot tear a write(2) already in the page cache; a power cut can. Leave the
    // torn frame such a cut would: the start of a frame whose payload never landed.
    const tail = join(dir, (await segmentFiles(dir)).at(-1)!);
    const payload = toBinary(SessionRecordSchema, testRecord(-1));
    await appendFile(tail, Buffer.concat([frameHeader(payload), payload.subarray(0, 100)]));

    const events: SpoolEvent[] = [];
    const spool = await openTest(dir, { segmentBytes: 64 * 1024 }, events);
    expect(events).toEqual([{ type: "recovered", segment: tail.split("/").at(-1), truncatedBytes: 108 }]);
    const pending = await spool.pending(1_000_000);
    const ids = new Set(pending.map((r) => r.id));
    const lost = confirmed.filter((id) => !ids.has(id));
    expect(lost).toEqual([]);
    expect(pending.length).toBeGreaterThanOrEqual(confirmed.length);
    expect(verifyChain(pending)).toEqual({ ok: true });
    expect((await spool.append(testRecord(0))).seq).toBe(BigInt(pending.length + 1));
  });

  describe('group commit window (durability "written", AGENTGATE_READ_COMMIT=group)', () => {
    async function until(condition: () => boolean): Promise<void> {
      for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
    }

    /** Holds every fdatasync until released; counts them. */
    async function holdDatasync(dir: string): Promise<{ calls: () => number; release: () => void; restore: () => void }> {
      const probe = await import("node:fs/promises").then((fs) => fs.open(join(dir, "probe"), "w"));
      const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
      await probe.close();
      const real = proto.datasync;
      let calls = 0;
      const waiting: Array<() => void> = [];
      let held = true;
      proto.datasync = function (this: unknown) {
        calls++;
        return new Promise<void>((resolve) => (held ? waiting.push(resolve) : resolve())).then(() => real.call(this));
      };
      return {
        calls: () => calls,
        release: () => {
          held = false;
          for (const w of waiting.splice(0)) w();
        },
        restore: () => (proto.datasync = real),
      };
    }

    test("a written append resolves before its fsync, but is reported only once fsynced; the window fsyncs without further appends", async () => {
      const dir = await tempDir();
      const spool = await openTest(dir, { groupCommitMs: 20 });
      const first = await spool.append(testRecord(0));
      const sync = await holdDatasync(dir);
      try {
        const sealed = await spool.append(testRecord(1), { durability: "written" });
        expect(sealed.seq).toBe(2n);
        expect(sync.calls()).toBe(0); // answered with no fsync yet
        expect(spool.holds(sealed.id)).toBe(true);
        expect((await spool.pending(10)).map((r) => r.id)).toEqual([first.id]); // not reportable yet
        expect(await spool.ackedHead()).toMatchObject({ seq: 0n });
        await until(() => sync.calls() > 0); // the window ends: an fsync, with nobody appending
        expect(sync.calls()).toBe(1);
        sync.release();
        await until(() => spool.stats().pendingCount === 2);
        expect((await spool.pending(10)).map((r) => r.id)).toEqual([first.id, sealed.id]);
      } finally {
        sync.restore();
      }
    });

    test("an fsync append waits for the fsync even when it shares a batch with written ones", async () => {
      const dir = await tempDir();
      const spool = await openTest(dir, { groupCommitMs: 10_000 });
      await spool.append(testRecord(0));
      const sync = await holdDatasync(dir);
      try {
        let strictDone = false;
        const written = Array.from({ length: 5 }, (_, i) => spool.append(testRecord(10 + i), { durability: "written" }));
        const strict = spool.append(testRecord(20)).then(() => (strictDone = true));
        await Promise.all(written);
        await new Promise((r) => setTimeout(r, 30));
        expect(strictDone).toBe(false);
        expect(sync.calls()).toBeGreaterThanOrEqual(1); // the strict record did not wait for the 10 s window
        sync.release();
        await strict;
        expect((await spool.pending(10)).length).toBe(7);
      } finally {
        sync.restore();
      }
    });

    test("close fsyncs written records at once (no wait for the window); reopen has them, chain intact", async () => {
      const dir = await tempDir();
      const spool = await openTest(dir, { groupCommitMs: 60_000 });
      const sealed = await Promise.all([1, 2, 3].map((n) => spool.append(testRecord(n), { durability: "written" })));
      await spool.close();
      const reopened = await openTest(dir);
      const pending = await reopened.pending(10);
      expect(pending.map((r) => r.id)).toEqual(sealed.map((r) => r.id));
      expect(verifyChain(pending)).toEqual({ ok: true });
    });

    test("a failed window fsync fails the spool closed (SPOOL_IO) for every later append", async () => {
      const dir = await tempDir();
      const spool = await openTest(dir, { groupCommitMs: 5 });
      await spool.append(testRecord(0));
      const probe = await import("node:fs/promises").then((fs) => fs.open(join(dir, "probe2"), "w"));
      const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
      await probe.close();
      const real = proto.datasync;
      proto.datasync = () => Promise.reject(Object.assign(new Error("EIO: i/o error"), { code: "EIO" }));
      try {
        await spool.append(testRecord(1), { durability: "written" });
        await until(() => !spool.stats().accepting);
        await expect(spool.append(testRecord(2), { durability: "written" })).rejects.toMatchObject({ code: "SPOOL_IO" });
        expect(spool.stats().accepting).toBe(false);
      } finally {
        proto.datasync = real;
      }
    });
  });
});
