/**
 * The limits engine's one interface and its factory.
 *
 * Three kinds of limit, all keyed by an opaque string the caller builds (identity × policy):
 * a token bucket for request rate, leased slots for concurrent runs, and a daily (UTC) cost
 * budget that is reserved before a run and settled after it. Two backends implement it:
 * `local.ts` (in-process, the default) and `redis.ts` (shared by every proxy through atomic
 * Lua scripts), the latter wrapped by `failover.ts` which decides what happens when Redis
 * cannot answer.
 */
import { FailoverLimiter } from "./failover.js";
import { LocalLimiter } from "./local.js";
import { RedisLimiter } from "./redis.js";
import { createStats, jsonLineLog } from "./stats.js";
import type { LimiterLog, LimiterStats } from "./stats.js";

export type { LimiterLog, LimiterStats } from "./stats.js";

/** A denial; `unavailable` is set when the decision was made without the shared backend (fail-closed). */
export interface Denial {
  ok: false;
  /** Milliseconds until retrying can succeed: until one token, a possible free slot, or the next UTC day. */
  retryAfterMs: number;
  unavailable?: true;
}

/** Outcome of {@link Limiter.takeToken}. */
export type TokenResult = { ok: true } | Denial;

/** Outcome of {@link Limiter.acquireSlot}; `release` is idempotent and never throws. */
export type SlotResult = { ok: true; release(): Promise<void> } | Denial;

/**
 * Outcome of {@link Limiter.reserveCost}. `reserved` is the amount set aside (see `minimum`);
 * `settle` is idempotent (only the first call counts) and never throws on backend errors;
 * `spent` is what the day had already used (NaN when unknown).
 */
export type CostResult = { ok: true; reserved: number; settle(actual: number): Promise<void> } | (Denial & { spent: number });

/** Rate, concurrency and daily-cost limits behind one interface; every backend behaves the same. */
export interface Limiter {
  /**
   * Token bucket: capacity `burst`, refill `ratePerMinute`/60 per second. `now` (epoch ms)
   * overrides the clock of the local backend only; Redis always uses its own server clock.
   */
  takeToken(key: string, ratePerMinute: number, burst: number, now?: number): Promise<TokenResult>;
  /**
   * Concurrency slot held until `release()`. On Redis the slot is a lease of `leaseMs` that this
   * process refreshes in the background, so slots of a crashed proxy lapse instead of leaking.
   * Local slots live as long as the process (a crash takes them with it), so `leaseMs` is unused there.
   */
  acquireSlot(key: string, max: number, leaseMs?: number): Promise<SlotResult>;
  /**
   * Daily cost budget (UTC day): check-and-reserve `amount` before a run, then settle the actual
   * amount, which replaces the reservation in the day it was made. When less than `amount` is
   * left of the budget, what is left is reserved instead, provided it is at least `minimum`
   * (default `amount`: all or nothing); so `amount` = the budget reserves "everything left".
   */
  reserveCost(key: string, amount: number, budgetPerDay: number, now?: number, minimum?: number): Promise<CostResult>;
  /** Cost reserved or settled so far in the current UTC day. */
  spentToday(key: string, now?: number): Promise<number>;
  /** Stops background work and closes connections; held Redis leases are left to lapse. */
  close(): Promise<void>;
}

/** A limiter that also exposes its counters (for /metrics). */
export interface InstrumentedLimiter extends Limiter {
  /** A copy of the counters at this moment. */
  stats(): LimiterStats;
}

/** What to do with a decision when Redis fails or is slower than the command timeout. */
export type RedisErrorMode = "fail-closed" | "fail-open" | "local-fallback";

/** Options of {@link createLimiter}; everything but `redisUrl` has a default. */
export interface LimiterOptions {
  /** Shared counters when set (`redis://…`); in-process counters otherwise. Never logged. */
  redisUrl?: string;
  /** Prefix of every Redis key; default `agentgate:limits:`. */
  keyPrefix?: string;
  /** Default `fail-closed` (see failover.ts for the trade-offs). */
  onRedisError?: RedisErrorMode;
  /** Proxies sharing the limits; `local-fallback` enforces a 1/fleetSize share of each. Default 1. */
  fleetSize?: number;
  /** Per-command Redis timeout; default 50 ms. */
  commandTimeoutMs?: number;
  /** How long decisions wait for the first Redis connection of this process; default 250 ms. */
  startupWaitMs?: number;
  /** Default lease of a concurrency slot on Redis; default 30 s (refreshed every third of it). */
  slotLeaseMs?: number;
  /** Retry-After hint for a denied slot when no lease is about to lapse; default 1 s. */
  slotRetryAfterMs?: number;
  /** Upper bound of keys kept per kind by the local backend; default 100 000. */
  maxLocalKeys?: number;
  /** Where warnings go; default one JSON line on stderr. */
  log?: LimiterLog;
}

/** Default prefix of Redis keys. */
export const DEFAULT_KEY_PREFIX = "agentgate:limits:";

/**
 * Builds the limiter: local counters without `redisUrl`; otherwise Redis-shared counters behind a
 * failover that applies `onRedisError` (default `fail-closed`, logged once per outage and counted).
 */
export function createLimiter(opts: LimiterOptions = {}): InstrumentedLimiter {
  const stats = opts.redisUrl ? createStats("redis", opts.onRedisError ?? "fail-closed") : createStats("local");
  const newLocal = (): LocalLimiter =>
    new LocalLimiter(
      { maxKeys: opts.maxLocalKeys ?? 100_000, slotRetryAfterMs: opts.slotRetryAfterMs ?? 1000 },
      stats,
    );
  if (!opts.redisUrl) return newLocal();
  const mode = opts.onRedisError ?? "fail-closed";
  const redis = new RedisLimiter(
    {
      url: opts.redisUrl,
      keyPrefix: opts.keyPrefix ?? DEFAULT_KEY_PREFIX,
      commandTimeoutMs: opts.commandTimeoutMs ?? 50,
      startupWaitMs: opts.startupWaitMs ?? 250,
      slotLeaseMs: opts.slotLeaseMs ?? 30_000,
      slotRetryAfterMs: opts.slotRetryAfterMs ?? 1000,
    },
    stats,
  );
  // The fallback counters exist only in the mode that uses them.
  const fallback = mode === "local-fallback" ? newLocal() : undefined;
  return new FailoverLimiter(redis, mode, fallback, opts.log ?? jsonLineLog, stats, 1000, opts.fleetSize ?? 1);
}
