/**
 * Follows runs that outlive their HTTP exchange (background runs) until the upstream says they
 * are final, so their concurrency slot and cost reservation are held for as long as the run
 * works, not as long as the request that started it (INVARIANTS.md 6).
 *
 * The run's status is learned from the upstream itself with the gateway's own credential
 * (`GET /threads/{thread}/runs/{run}`), never from the caller. A run is final when its status
 * is one of FINAL_STATUSES or the upstream no longer knows it (404: a stateless run's thread is
 * deleted when it ends). Polling backs off from `pollMinMs` to `pollMaxMs`; upstream errors
 * keep the run held (fail closed) until `maxRunMs`, after which it is let go and counted as
 * timed out. At most `maxRuns` runs are followed per proxy; past that, new background runs are
 * refused at admission (see `full`). Slots held by a proxy that dies lapse with their Redis
 * lease (see limiter.ts).
 */
import type { Dispatcher } from "undici";

/** LangGraph run statuses after which nothing more runs. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["success", "error", "timeout", "interrupted"]);

/** How a followed run ended, as far as the gateway knows. */
export type RunEnd = "final" | "gone" | "timed-out" | "stopped";

/** What the tracker needs to ask the upstream about one run. */
export interface FollowedRun {
  /** The connection's pool. */
  readonly pool: Dispatcher;
  /** Upstream path of the run, e.g. `/threads/{t}/runs/{r}` (with the connection's base path). */
  readonly path: string;
  /** Fresh request headers (credential, identity) for each poll. */
  headers(): Record<string, string>;
  /** Called exactly once when the run ends (or the tracker stops); must not throw. */
  onEnd(end: RunEnd): Promise<void>;
}

/** Options of {@link RunTracker}. */
export interface RunTrackerOptions {
  /** Most runs followed at once by this proxy; default 10 000. */
  maxRuns?: number;
  /** Longest a run is held; default 1 h. */
  maxRunMs?: number;
  /** First poll delay; default 250 ms. */
  pollMinMs?: number;
  /** Longest poll delay; default 5 s. */
  pollMaxMs?: number;
  /** Per-poll request timeout; default 10 s. */
  requestTimeoutMs?: number;
}

/** Counters for /metrics. */
export interface RunTrackerStats {
  followed: number;
  ended: number;
  timedOut: number;
  pollErrors: number;
}

/** Follows background runs to their end; one per proxy. */
export class RunTracker {
  readonly #maxRuns: number;
  readonly #maxRunMs: number;
  readonly #pollMinMs: number;
  readonly #pollMaxMs: number;
  readonly #requestTimeoutMs: number;
  readonly #runs = new Map<FollowedRun, NodeJS.Timeout>();
  readonly #stats: RunTrackerStats = { followed: 0, ended: 0, timedOut: 0, pollErrors: 0 };
  #closed = false;

  constructor(opts: RunTrackerOptions = {}) {
    this.#maxRuns = opts.maxRuns ?? 10_000;
    this.#maxRunMs = opts.maxRunMs ?? 3_600_000;
    this.#pollMinMs = opts.pollMinMs ?? 250;
    this.#pollMaxMs = opts.pollMaxMs ?? 5_000;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /** True when no more runs can be followed (admission refuses new background runs then). */
  get full(): boolean {
    return this.#closed || this.#runs.size >= this.#maxRuns;
  }

  /** Longest a run is held (also the bound on draining an abandoned stream). */
  get maxRunMs(): number {
    return this.#maxRunMs;
  }

  /** Runs being followed now. */
  get active(): number {
    return this.#runs.size;
  }

  /** A copy of the counters. */
  stats(): RunTrackerStats & { active: number } {
    return { ...this.#stats, active: this.#runs.size };
  }

  /** Starts following `run`; when the tracker is full or closed, ends it at once ("stopped"). */
  follow(run: FollowedRun): void {
    if (this.full) {
      void run.onEnd("stopped");
      return;
    }
    this.#stats.followed++;
    const deadline = Date.now() + this.#maxRunMs;
    const poll = async (delay: number): Promise<void> => {
      if (!this.#runs.has(run)) return;
      if (Date.now() >= deadline) return this.#end(run, "timed-out");
      const status = await this.#status(run);
      if (!this.#runs.has(run)) return;
      if (status === "gone" || (status !== undefined && FINAL_STATUSES.has(status))) return this.#end(run, status === "gone" ? "gone" : "final");
      const next = Math.min(delay * 2, this.#pollMaxMs, Math.max(0, deadline - Date.now()));
      this.#runs.set(run, setTimeout(() => void poll(next), next).unref());
    };
    this.#runs.set(run, setTimeout(() => void poll(this.#pollMinMs), this.#pollMinMs).unref());
  }

  /** Stops following every run; each ends with "stopped" (Redis leases then lapse on their own). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#runs.keys()].map((run) => this.#end(run, "stopped")));
  }

  async #end(run: FollowedRun, end: RunEnd): Promise<void> {
    const timer = this.#runs.get(run);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#runs.delete(run);
    this.#stats.ended++;
    if (end === "timed-out") this.#stats.timedOut++;
    await run.onEnd(end).catch(() => undefined);
  }

  /** The run's status, "gone" on 404, undefined when the upstream could not say. */
  async #status(run: FollowedRun): Promise<string | undefined> {
    try {
      const res = await run.pool.request({
        method: "GET",
        path: run.path,
        headers: run.headers(),
        signal: AbortSignal.timeout(this.#requestTimeoutMs),
      });
      const text = await res.body.text();
      if (res.statusCode === 404) return "gone";
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      const body = JSON.parse(text) as { status?: unknown };
      return typeof body.status === "string" ? body.status : undefined;
    } catch {
      this.#stats.pollErrors++;
      return undefined;
    }
  }
}
