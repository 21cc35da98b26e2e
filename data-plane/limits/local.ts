/**
 * In-process limiter: the default backend, and the fallback while Redis is unreachable.
 * Buckets refill lazily from timestamps (no timer per key); memory is bounded by IdleMap.
 */
import { IdleMap } from "./idle-map.js";
import { once } from "./once.js";
import { msUntilNextUtcDay, utcDay } from "./utc-day.js";
import { checkBucket, checkCost, checkSlot, reservable } from "./validate.js";
import type { CostResult, InstrumentedLimiter, SlotResult, TokenResult } from "./limiter.js";
import type { LimiterStats } from "./stats.js";

/** Token bucket state; `idleAt` is when it will be full again, i.e. indistinguishable from absent. */
interface Bucket {
  tokens: number;
  ts: number;
  idleAt: number;
}

/** One UTC day of spending; replaced (not mutated) when the day changes, so late settlements land on their own day. */
interface CostDay {
  readonly day: number;
  spent: number;
}

/** Settings of {@link LocalLimiter}. */
export interface LocalLimiterOptions {
  /** Cap on entries per kind (buckets, cost days). */
  maxKeys: number;
  /** Retry-After hint for a denied slot: a local run's end cannot be predicted. */
  slotRetryAfterMs: number;
}

/** Limiter over Maps in this process; exact for one proxy, per-proxy when several run. */
export class LocalLimiter implements InstrumentedLimiter {
  readonly #opts: LocalLimiterOptions;
  readonly #stats: LimiterStats;
  readonly #buckets: IdleMap<Bucket>;
  readonly #costs: IdleMap<CostDay>;
  // Holds only keys with at least one slot taken, so its size is bounded by in-flight runs.
  readonly #slots = new Map<string, number>();

  /** @param stats counters shared with the factory (evictions are counted here) */
  constructor(opts: LocalLimiterOptions, stats: LimiterStats) {
    this.#opts = opts;
    this.#stats = stats;
    const onEvict = (): void => {
      stats.evictions++;
    };
    this.#buckets = new IdleMap<Bucket>(opts.maxKeys, (b, now) => now >= b.idleAt, onEvict);
    this.#costs = new IdleMap<CostDay>(opts.maxKeys, (c, now) => c.day < utcDay(now), onEvict);
  }

  /** Token bucket, refilled lazily from the elapsed time since the last take. */
  async takeToken(key: string, ratePerMinute: number, burst: number, now: number = Date.now()): Promise<TokenResult> {
    checkBucket(ratePerMinute, burst);
    const perMs = ratePerMinute / 60_000;
    const b = this.#buckets.get(key);
    let tokens = burst;
    let ts = now;
    if (b) {
      // A clock that steps back refills nothing and keeps the later timestamp.
      tokens = Math.min(burst, b.tokens + Math.max(0, now - b.ts) * perMs);
      ts = Math.max(b.ts, now);
    }
    if (tokens < 1) {
      // Nothing written on denial: lazy refill from the old state gives the same answer later.
      return { ok: false, retryAfterMs: Math.ceil((1 - tokens) / perMs) };
    }
    tokens -= 1;
    this.#buckets.set(key, { tokens, ts, idleAt: ts + (burst - tokens) / perMs }, now);
    return { ok: true };
  }

  /** Counts slots per key; `leaseMs` is only validated (see Limiter.acquireSlot). */
  async acquireSlot(key: string, max: number, leaseMs = 30_000): Promise<SlotResult> {
    checkSlot(max, leaseMs);
    const held = this.#slots.get(key) ?? 0;
    if (held >= max) return { ok: false, retryAfterMs: this.#opts.slotRetryAfterMs };
    this.#slots.set(key, held + 1);
    const release = once(() => {
      const n = (this.#slots.get(key) ?? 0) - 1;
      if (n > 0) this.#slots.set(key, n);
      else this.#slots.delete(key);
      return Promise.resolve();
    });
    return { ok: true, release };
  }

  /** Check-and-reserve against the UTC day of `now`; settlement adjusts that same day. */
  async reserveCost(key: string, amount: number, budgetPerDay: number, now: number = Date.now(), minimum: number = amount): Promise<CostResult> {
    checkCost("amount", amount);
    checkCost("budgetPerDay", budgetPerDay);
    checkCost("minimum", minimum);
    const day = utcDay(now);
    const current = this.#costs.get(key);
    const entry: CostDay = current && current.day === day ? current : { day, spent: 0 };
    const reserved = reservable(entry.spent, amount, budgetPerDay, minimum);
    if (reserved === undefined) {
      return { ok: false, retryAfterMs: msUntilNextUtcDay(now), spent: entry.spent };
    }
    entry.spent += reserved;
    this.#costs.set(key, entry, now);
    const apply = once((actual: number) => {
      // `entry` is this reservation's day even if the map has moved on to the next one.
      entry.spent = Math.max(0, entry.spent + actual - reserved);
      return Promise.resolve();
    });
    const settle = async (actual: number): Promise<void> => {
      checkCost("actual", actual);
      await apply(actual);
    };
    return { ok: true, reserved, settle };
  }

  /** Spent in the UTC day of `now`. */
  async spentToday(key: string, now: number = Date.now()): Promise<number> {
    const entry = this.#costs.get(key);
    return entry && entry.day === utcDay(now) ? entry.spent : 0;
  }

  /** Forgets all state. */
  async close(): Promise<void> {
    this.#buckets.clear();
    this.#costs.clear();
    this.#slots.clear();
  }

  /** A copy of the shared counters. */
  stats(): LimiterStats {
    return { ...this.#stats };
  }
}
