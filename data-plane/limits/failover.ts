/**
 * Applies the `onRedisError` policy around the Redis backend, with a small circuit breaker.
 *
 * - `local-fallback`: decisions go to this process's own counters, each limit divided by the
 *   known fleet size (`fleetSize` proxies: rate, burst, slots and budget get a 1/N share, slots
 *   rounded down, so N proxies together stay within the shared limit; a share of 0 slots denies).
 *   The local counters start empty (a fresh burst, no spent budget): the day's budget is not
 *   known during an outage. Nothing is merged back when Redis returns.
 * - `fail-open`: allow everything while Redis is away (availability over enforcement).
 * - `fail-closed`: deny everything with `unavailable: true` (enforcement over availability).
 *
 * Every failed or timed-out decision is counted and handled by the policy. After
 * `FAILURES_TO_TRIP` failures in a row the breaker opens: decisions skip Redis for `cooldownMs`,
 * so a Redis that hangs costs one command timeout per cooldown instead of one per request, and the
 * outage is logged once (its end too). A lone timeout (a GC pause, a busy event loop) does not
 * trip it, so one slow command does not split the shared limit for a whole cooldown.
 */
import type { CostResult, InstrumentedLimiter, Limiter, RedisErrorMode, SlotResult, TokenResult } from "./limiter.js";
import type { LocalLimiter } from "./local.js";
import type { LimiterLog, LimiterStats } from "./stats.js";

const NO_OP = (): Promise<void> => Promise.resolve();

/** Consecutive Redis failures that open the breaker. */
export const FAILURES_TO_TRIP = 3;

/** Limiter that asks `primary` (Redis) and applies `mode` when it fails or times out. */
export class FailoverLimiter implements InstrumentedLimiter {
  readonly #primary: Limiter;
  readonly #mode: RedisErrorMode;
  readonly #fallback: LocalLimiter | undefined;
  readonly #log: LimiterLog;
  readonly #stats: LimiterStats;
  readonly #cooldownMs: number;
  readonly #fleetSize: number;
  #skipPrimaryUntil = 0;
  #failuresInARow = 0;

  /**
   * @param fallback required when `mode` is `local-fallback`
   * @param cooldownMs how long to skip Redis after a failure; also the Retry-After of fail-closed denials
   * @param fleetSize proxies sharing the limits: the local fallback enforces a 1/fleetSize share
   */
  constructor(
    primary: Limiter,
    mode: RedisErrorMode,
    fallback: LocalLimiter | undefined,
    log: LimiterLog,
    stats: LimiterStats,
    cooldownMs = 1000,
    fleetSize = 1,
  ) {
    if (!(Number.isInteger(fleetSize) && fleetSize >= 1)) throw new RangeError("limits: fleetSize must be an integer >= 1");
    this.#fleetSize = fleetSize;
    if (mode === "local-fallback" && !fallback) throw new Error("limits: local-fallback needs a local limiter");
    this.#primary = primary;
    this.#mode = mode;
    this.#fallback = fallback;
    this.#log = log;
    this.#stats = stats;
    this.#cooldownMs = cooldownMs;
  }

  /** See Limiter.takeToken; `now` only reaches the local fallback. */
  takeToken(key: string, ratePerMinute: number, burst: number, now?: number): Promise<TokenResult> {
    return this.#decide(
      () => this.#primary.takeToken(key, ratePerMinute, burst, now),
      (local) => local.takeToken(key, ratePerMinute / this.#fleetSize, Math.max(1, burst / this.#fleetSize), now),
      { ok: true },
      { ok: false, retryAfterMs: this.#cooldownMs, unavailable: true },
    );
  }

  /** See Limiter.acquireSlot; a fail-open slot has nothing to release. */
  acquireSlot(key: string, max: number, leaseMs?: number): Promise<SlotResult> {
    return this.#decide(
      () => this.#primary.acquireSlot(key, max, leaseMs),
      (local) => {
        const share = Math.floor(max / this.#fleetSize);
        return share >= 1 ? local.acquireSlot(key, share, leaseMs) : Promise.resolve({ ok: false, retryAfterMs: this.#cooldownMs, unavailable: true } as const);
      },
      { ok: true, release: NO_OP },
      { ok: false, retryAfterMs: this.#cooldownMs, unavailable: true },
    );
  }

  /** See Limiter.reserveCost; a fail-closed denial reports `spent: NaN` (unknown). */
  reserveCost(key: string, amount: number, budgetPerDay: number, now?: number, minimum?: number): Promise<CostResult> {
    return this.#decide(
      () => this.#primary.reserveCost(key, amount, budgetPerDay, now, minimum),
      (local) => local.reserveCost(key, amount, budgetPerDay / this.#fleetSize, now, minimum),
      { ok: true, reserved: 0, settle: NO_OP },
      { ok: false, retryAfterMs: this.#cooldownMs, unavailable: true, spent: Number.NaN },
    );
  }

  /** See Limiter.spentToday; without a local fallback a Redis error is re-thrown (a read, not a decision). */
  async spentToday(key: string, now?: number): Promise<number> {
    try {
      return await this.#primary.spentToday(key, now);
    } catch (err) {
      if (err instanceof RangeError || !this.#fallback) throw err;
      this.#failed(err);
      return this.#fallback.spentToday(key, now);
    }
  }

  /** Closes both backends. */
  async close(): Promise<void> {
    await Promise.all([this.#primary.close(), this.#fallback?.close()]);
  }

  /** A copy of the shared counters. */
  stats(): LimiterStats {
    return { ...this.#stats };
  }

  async #decide<T>(viaPrimary: () => Promise<T>, viaLocal: (local: LocalLimiter) => Promise<T>, open: T, closed: T): Promise<T> {
    if (Date.now() >= this.#skipPrimaryUntil) {
      try {
        const result = await viaPrimary();
        this.#recovered();
        return result;
      } catch (err) {
        // Bad arguments are bugs: the fallback would reject them too.
        if (err instanceof RangeError) throw err;
        this.#failed(err);
      }
    }
    this.#stats.degradedDecisions++;
    if (this.#mode === "local-fallback" && this.#fallback) return viaLocal(this.#fallback);
    return this.#mode === "fail-open" ? open : closed;
  }

  #failed(err: unknown): void {
    this.#stats.redisErrors++;
    if (++this.#failuresInARow < FAILURES_TO_TRIP) return;
    this.#skipPrimaryUntil = Date.now() + this.#cooldownMs;
    if (this.#stats.degraded) return;
    this.#stats.degraded = true;
    this.#log("warn", "redis unavailable: limits degraded", {
      mode: this.#mode,
      effect: EFFECT[this.#mode],
      err,
    });
  }

  #recovered(): void {
    this.#failuresInARow = 0;
    if (!this.#stats.degraded) return;
    this.#stats.degraded = false;
    this.#log("info", "redis available again: shared limits restored", { mode: this.#mode });
  }
}

const EFFECT: Record<RedisErrorMode, string> = {
  "local-fallback": "each proxy enforces limits with its own counters (up to N× the shared limit)",
  "fail-open": "all limited requests are allowed",
  "fail-closed": "all limited requests are denied",
};
