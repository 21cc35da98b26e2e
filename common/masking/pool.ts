import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { maskBody, maskBodyKeepClean, type MaskBodyOptions, type MaskBodyResult, type Untouched } from "./body.js";
import type { BodyJob, MaskJob, MaskJobResult, SseEventJob, SseEventResult } from "./mask-worker.js";

/** maskBody's result, `untouched` (masking changed nothing: maskBodyKeepClean), or `bound`: not masked within the pool's bounds (fail closed). */
export type BoundedMaskResult = MaskBodyResult | Untouched | { ok: false; code: "bound"; reason: string };

/**
 * Bodies below this many bytes are masked inline on the event loop; larger ones by the pool.
 * The worst hostile shape measured ("::1 " repeated: one string of IPv6 addresses) costs
 * 35–46 ms of CPU per 64 KiB on the loaded 2-core machine, so 16 KiB keeps one inline body
 * near 10 ms; a worker round trip (two copies, a message each way) costs far less than that.
 */
export const INLINE_MAX_BYTES = 16 * 1024;

export interface MaskPoolOptions {
  /** Worker threads (default: available cores, at most 4). */
  size?: number;
  /** A body not masked this long after a ready worker took it is refused (time waiting for a worker is bounded by maxQueue). */
  timeoutMs?: number;
  /** Bodies waiting for a worker beyond this are refused at once. */
  maxQueue?: number;
}

/** A job before the pool numbers it. */
type JobInput = Omit<BodyJob, "id"> | Omit<SseEventJob, "id">;

interface Pending {
  job: MaskJob;
  resolve(r: MaskJobResult | { id: number; bound: string }): void;
  /** Armed when a ready worker takes the job. */
  timer: NodeJS.Timeout | undefined;
  worker?: PoolWorker;
}

interface PoolWorker {
  worker: Worker;
  /** Loaded (its first message): jobs go only to ready workers. */
  ready: boolean;
  busy: Pending | undefined;
}

/**
 * Worker threads that mask whole bodies with maskBody (and single large SSE events with their
 * streams' state: sse-bounded.ts), so a large or hostile body costs the
 * event loop only its hand-over (a copy of the bytes each way), never the detector work.
 * Bounded: a job that has not finished `timeoutMs` after a loaded worker took it is answered
 * `bound` and its worker terminated (a fresh one replaces it); more than `maxQueue` waiting
 * jobs are answered `bound` at once. Workers start on first use (or `warm()`); the first large
 * body of a process waits for one to load (~0.3 s). They are unref'd: they never keep a
 * process alive.
 */
export class MaskPool {
  readonly size: number;
  readonly timeoutMs: number;
  readonly maxQueue: number;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: MaskPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? Math.min(4, availableParallelism()));
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxQueue = opts.maxQueue ?? 256;
  }

  /** Masks `body` as maskBody would with `session` (its key; the counts are added to it). */
  async mask(
    body: Uint8Array | string,
    contentType: string | undefined,
    profile: CompiledProfile,
    session: MaskSession,
    opts: MaskBodyOptions = {},
    keepClean = false,
  ): Promise<BoundedMaskResult> {
    // A view on a larger (pooled) buffer would be cloned whole: hand over just its bytes.
    if (typeof body !== "string" && body.byteLength !== body.buffer.byteLength) body = new Uint8Array(body);
    const r = await this.run({ kind: "body", rules: profile.specs, key: session.sharedKey(), body, contentType, opts, keepClean }, session);
    if (!r.ok) return r;
    if (!("result" in r.done)) return { ok: false, code: "bound", reason: "masking worker answered another kind of job" };
    return r.done.result;
  }

  /** Masks one SSE event in a worker (sse-bounded.ts): its output and the new state of the streams it was given. */
  async maskSseEvent(job: Omit<SseEventJob, "id" | "kind" | "rules" | "key">, profile: CompiledProfile, session: MaskSession): Promise<{ ok: true; sse: SseEventResult } | { ok: false; reason: string }> {
    const r = await this.run({ kind: "sse-event", rules: profile.specs, key: session.sharedKey(), ...job }, session);
    if (!r.ok) return r;
    if (!("sse" in r.done)) return { ok: false, reason: "masking worker answered another kind of job" };
    return { ok: true, sse: r.done.sse };
  }

  /** Runs a job on a worker within the bounds; a finished job's counts are added to `session`. */
  private async run(input: JobInput, session: MaskSession): Promise<{ ok: true; done: Exclude<MaskJobResult, { error: string }> } | { ok: false; code: "bound"; reason: string }> {
    if (this.closed) return { ok: false, code: "bound", reason: "masking pool closed" };
    if (this.queue.length >= this.maxQueue) return { ok: false, code: "bound", reason: `more than ${this.maxQueue} jobs waiting for masking` };
    const job: MaskJob = { ...input, id: this.nextId++ };
    const r = await new Promise<MaskJobResult | { id: number; bound: string }>((resolve) => {
      const pending: Pending = { job, resolve, timer: undefined };
      this.queue.push(pending);
      this.dispatch();
    });
    if ("bound" in r) return { ok: false, code: "bound", reason: r.bound };
    if ("error" in r) return { ok: false, code: "bound", reason: `masking failed: ${r.error}` };
    session.addCounts(r.counts);
    return { ok: true, done: r };
  }

  /** Terminates every worker; pending jobs are answered `bound`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.settle(p, { id: p.job.id, bound: "masking pool closed" });
    await Promise.all(
      this.workers.splice(0).map((w) => {
        if (w.busy) this.settle(w.busy, { id: w.busy.job.id, bound: "masking pool closed" });
        return w.worker.terminate();
      }),
    );
  }

  /** Starts the workers now, so the first large body does not wait for one to load. */
  warm(): void {
    while (!this.closed && this.workers.length < this.size) this.spawn();
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const w = this.workers.find((x) => x.ready && x.busy === undefined);
      if (!w) {
        if (this.workers.length < this.size) this.spawn(); // dispatch runs again once it is ready
        return;
      }
      const p = this.queue.shift()!;
      w.busy = p;
      p.worker = w;
      p.timer = setTimeout(() => this.expire(p), this.timeoutMs);
      p.timer.unref();
      w.worker.postMessage(p.job);
    }
  }

  private spawn(): PoolWorker | undefined {
    if (this.closed) return undefined;
    const w: PoolWorker = { worker: startWorker(), ready: false, busy: undefined };
    w.worker.unref();
    w.worker.on("message", (r: MaskJobResult | { ready: true }) => {
      if ("ready" in r) {
        w.ready = true;
        return this.dispatch();
      }
      const p = w.busy;
      if (!p || p.job.id !== r.id) return;
      w.busy = undefined;
      this.settle(p, r);
      this.dispatch();
    });
    const lost = (why: string) => {
      this.drop(w);
      if (w.busy) this.settle(w.busy, { id: w.busy.job.id, bound: why });
      w.busy = undefined;
      this.dispatch();
    };
    w.worker.on("error", (e) => lost(`masking worker failed: ${e.message}`));
    w.worker.on("exit", () => lost("masking worker exited"));
    this.workers.push(w);
    return w;
  }

  private drop(w: PoolWorker): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
  }

  private expire(p: Pending): void {
    const reason = `masking did not finish within ${this.timeoutMs} ms`;
    const qi = this.queue.indexOf(p);
    if (qi >= 0) this.queue.splice(qi, 1);
    const w = p.worker;
    if (w && w.busy === p) {
      // The only way to stop a detector mid-run: end the thread, start a fresh one later.
      w.busy = undefined;
      this.drop(w);
      void w.worker.terminate();
    }
    this.settle(p, { id: p.job.id, bound: reason });
    this.dispatch();
  }

  private settle(p: Pending, r: MaskJobResult | { id: number; bound: string }): void {
    if (p.timer) clearTimeout(p.timer);
    p.resolve(r);
  }
}

/**
 * The worker thread: the compiled mask-worker.js next to this file, or — running from the
 * TypeScript sources (tsx, jest) — mask-worker.ts loaded through tsx.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    const url = new URL("./mask-worker.ts", here).href;
    return new Worker(`import("tsx/esm/api").then(({ tsImport }) => tsImport(${JSON.stringify(url)}, ${JSON.stringify(here)}))`, { eval: true });
  }
  return new Worker(new URL("./mask-worker.js", here));
}

let shared: MaskPool | undefined;

/**
 * The proxy's pool: AGENTGATE_MASK_WORKERS threads (default: cores, at most 4),
 * AGENTGATE_MASK_TIMEOUT_MS per body (default 10,000: a 32 MiB body at the slowest measured
 * hostile rate still finishes on a quiet core).
 */
export function sharedMaskPool(): MaskPool {
  if (!shared) {
    const size = Number(process.env["AGENTGATE_MASK_WORKERS"]) || undefined;
    const timeoutMs = Number(process.env["AGENTGATE_MASK_TIMEOUT_MS"]) || undefined;
    shared = new MaskPool({ ...(size ? { size } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  }
  return shared;
}

/**
 * maskBody, with the event loop bounded: a body under INLINE_MAX_BYTES is masked inline (a
 * few ms at worst), a larger one by the pool (never more than a copy on the event loop);
 * `bound` when the pool could not mask it in time — the caller refuses the exchange.
 * `keepClean`: answer `untouched` when masking changed nothing (the caller relays the original bytes).
 */
export async function maskBodyBounded(
  body: Uint8Array | string,
  contentType: string | undefined,
  profile: CompiledProfile,
  session: MaskSession,
  opts: MaskBodyOptions = {},
  keepClean = false,
  pool: MaskPool = sharedMaskPool(),
): Promise<BoundedMaskResult> {
  if (body.length < INLINE_MAX_BYTES) return (keepClean ? maskBodyKeepClean : maskBody)(body, contentType, profile, session, opts);
  return pool.mask(body, contentType, profile, session, opts, keepClean);
}
