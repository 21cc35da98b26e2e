/**
 * Redis-shared limiter: every decision is one atomic Lua script (loaded once with
 * `defineCommand`, sent as EVALSHA), so N proxies enforce one limit. Errors are thrown to the
 * caller (failover.ts decides what they mean); releases and settlements swallow them and count.
 *
 * Key layout under the prefix (each with a TTL, so nothing grows forever):
 *   tb:<key>               hash {tk, ts}    token bucket, expires when full again
 *   cc:<key>               zset id→expiry   concurrency leases, expires with the last lease
 *   cost:<key>:YYYY-MM-DD  string           spent that UTC day, expires a day after its midnight
 * Cost keys are derived inside Lua from the declared base key; that is fine on standalone Redis
 * and Sentinel, but Redis Cluster would need hash tags around <key>.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { once } from "./once.js";
import { LEASE_SLOT, RESERVE_COST, SETTLE_COST, SPENT_TODAY, TAKE_TOKEN } from "./redis-scripts.js";
import { checkBucket, checkCost, checkSlot } from "./validate.js";
import type { CostResult, InstrumentedLimiter, SlotResult, TokenResult } from "./limiter.js";
import type { LimiterStats } from "./stats.js";

/** The script commands that `defineCommand` adds to the client. */
interface ScriptCommands {
  agTakeToken(key: string, ratePerMinute: number, burst: number): Promise<[number, number]>;
  agLeaseSlot(key: string, max: number, leaseMs: number, id: string): Promise<[number, number]>;
  agReserveCost(baseKey: string, amount: number, budget: number, minimum: number): Promise<[number, number, string, string, string]>;
  agSettleCost(dayKey: string, delta: number): Promise<number>;
  agSpentToday(baseKey: string): Promise<string>;
}

/** Thrown without touching the network when the connection is not ready (an outage, or still starting). */
export class RedisUnavailableError extends Error {
  /** @param status the ioredis connection status at the time */
  constructor(status: string) {
    super(`redis connection is ${status}`);
    this.name = "RedisUnavailableError";
  }
}

/** Script sources by the command name `defineCommand` gives them (each has exactly one declared key). */
const SCRIPTS: Readonly<Record<keyof ScriptCommands, string>> = {
  agTakeToken: TAKE_TOKEN,
  agLeaseSlot: LEASE_SLOT,
  agReserveCost: RESERVE_COST,
  agSettleCost: SETTLE_COST,
  agSpentToday: SPENT_TODAY,
};

/** Settings of {@link RedisLimiter}. */
export interface RedisLimiterOptions {
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
  slotLeaseMs: number;
  slotRetryAfterMs: number;
  /** How long decisions wait for the very first connection before failing over. */
  startupWaitMs: number;
}

/** A slot this process holds and keeps alive. */
interface HeldLease {
  key: string;
  max: number;
  leaseMs: number;
}

/** Limiter whose counters live in Redis; decisions use the Redis server's clock. */
export class RedisLimiter implements InstrumentedLimiter {
  readonly #opts: RedisLimiterOptions;
  readonly #stats: LimiterStats;
  readonly #redis: Redis & ScriptCommands;
  // Resolves once the first connection is ready, fails, or startupWaitMs passes.
  readonly #started: Promise<void>;
  // One timer refreshes every held lease; its period is a third of the shortest lease seen.
  readonly #held = new Map<string, HeldLease>();
  #refreshTimer: NodeJS.Timeout | undefined;
  #refreshEveryMs = Infinity;
  #refreshing = false;

  /** Connects at once; until the first connection, decisions wait for it (at most `startupWaitMs`). */
  constructor(opts: RedisLimiterOptions, stats: LimiterStats) {
    this.#opts = opts;
    this.#stats = stats;
    const redis = new Redis(opts.url, {
      // A slow Redis must not stall requests: every command gives up after this long.
      commandTimeout: opts.commandTimeoutMs,
      connectTimeout: 1000,
      // Commands are only sent on a ready connection (see #client); during an outage they fail at
      // once instead of queueing for a reconnect that may never come in time.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A command that timed out may still have run; re-sending it after a reconnect would count twice.
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    });
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 1, lua });
    redis.on("ready", () => {
      // Load every script up front (again after a Redis restart), so the first EVALSHA of each
      // decision finds it instead of paying a NOSCRIPT round trip; sent before any waiting decision.
      for (const lua of Object.values(SCRIPTS)) redis.script("LOAD", lua).catch(() => {});
    });
    // Without a listener ioredis prints every connection error; failover.ts reports outages.
    redis.on("error", () => {});
    this.#started = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.startupWaitMs);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      redis.once("ready", done);
      redis.once("error", done);
    });
    // defineCommand adds methods ioredis cannot type; ScriptCommands describes them.
    this.#redis = redis as Redis & ScriptCommands;
  }

  /** Token bucket in one script. `now` is ignored: the server clock decides. */
  async takeToken(key: string, ratePerMinute: number, burst: number, _now?: number): Promise<TokenResult> {
    checkBucket(ratePerMinute, burst);
    const redis = await this.#client();
    const [ok, retryAfterMs] = await redis.agTakeToken(this.#key("tb", key), ratePerMinute, burst);
    return ok === 1 ? { ok: true } : { ok: false, retryAfterMs: Math.max(1, retryAfterMs) };
  }

  /** Takes a lease in the key's sorted set and keeps refreshing it until `release()`. */
  async acquireSlot(key: string, max: number, leaseMs: number = this.#opts.slotLeaseMs): Promise<SlotResult> {
    checkSlot(max, leaseMs);
    const zkey = this.#key("cc", key);
    const id = randomUUID();
    const redis = await this.#client();
    const [ok, lapseInMs] = await redis.agLeaseSlot(zkey, max, leaseMs, id);
    if (ok !== 1) {
      // A run's end is unknowable; a lease about to lapse (crashed holder) is the only sooner sure thing.
      return { ok: false, retryAfterMs: Math.max(1, Math.min(lapseInMs, this.#opts.slotRetryAfterMs)) };
    }
    this.#hold(id, { key: zkey, max, leaseMs });
    const release = once(async () => {
      this.#unhold(id);
      try {
        await (await this.#client()).zrem(zkey, id);
      } catch {
        // The lease lapses on its own within leaseMs.
        this.#stats.redisErrors++;
      }
    });
    return { ok: true, release };
  }

  /** Reserves in the server's current UTC day; settlement targets that same day key. */
  async reserveCost(key: string, amount: number, budgetPerDay: number, _now?: number, minimum: number = amount): Promise<CostResult> {
    checkCost("amount", amount);
    checkCost("budgetPerDay", budgetPerDay);
    checkCost("minimum", minimum);
    const redis = await this.#client();
    const [ok, retryAfterMs, spent, dayKey, reservedText] = await redis.agReserveCost(this.#key("cost", key), amount, budgetPerDay, minimum);
    if (ok !== 1) return { ok: false, retryAfterMs: Math.max(1, retryAfterMs), spent: Number(spent) };
    const reserved = Number(reservedText);
    const apply = once(async (actual: number) => {
      try {
        await (await this.#client()).agSettleCost(dayKey, actual - reserved);
      } catch {
        // The estimate stays charged; counted so a persistent gap is visible.
        this.#stats.redisErrors++;
      }
    });
    const settle = async (actual: number): Promise<void> => {
      checkCost("actual", actual);
      await apply(actual);
    };
    return { ok: true, reserved, settle };
  }

  /** Spent in the server's current UTC day. `now` is ignored. */
  async spentToday(key: string, _now?: number): Promise<number> {
    const redis = await this.#client();
    return Number(await redis.agSpentToday(this.#key("cost", key)));
  }

  /** Stops refreshing (held leases lapse within their lease) and drops the connection. */
  async close(): Promise<void> {
    this.#stopRefresh();
    this.#held.clear();
    const redis = this.#redis;
    if (redis.status === "end") return;
    // Wait for the socket to close (bounded: a connection between retries has no socket to close).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 200);
      redis.once("end", () => {
        clearTimeout(timer);
        resolve();
      });
      redis.disconnect();
    });
  }

  /** A copy of the shared counters. */
  stats(): LimiterStats {
    return { ...this.#stats };
  }

  #key(kind: string, key: string): string {
    return `${this.#opts.keyPrefix}${kind}:${key}`;
  }

  /**
   * The client, if a command can be answered in time: a connection that is not ready means an
   * outage, and queueing would only add latency. Only a process that has not connected yet waits
   * (once, bounded), so a request arriving during boot is not pushed to the fallback for nothing.
   */
  async #client(): Promise<Redis & ScriptCommands> {
    if (this.#redis.status !== "ready") await this.#started;
    const status = this.#redis.status;
    if (status !== "ready") throw new RedisUnavailableError(status);
    return this.#redis;
  }

  #hold(id: string, lease: HeldLease): void {
    this.#held.set(id, lease);
    const every = Math.max(1, Math.floor(lease.leaseMs / 3));
    if (every < this.#refreshEveryMs || !this.#refreshTimer) {
      this.#refreshEveryMs = Math.min(every, this.#refreshEveryMs);
      this.#stopTimer();
      this.#refreshTimer = setInterval(() => void this.#refreshAll(), this.#refreshEveryMs);
      // Lease upkeep must never keep the process alive on its own.
      this.#refreshTimer.unref();
    }
  }

  #unhold(id: string): void {
    this.#held.delete(id);
    if (this.#held.size === 0) this.#stopRefresh();
  }

  #stopTimer(): void {
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  #stopRefresh(): void {
    this.#stopTimer();
    this.#refreshEveryMs = Infinity;
  }

  async #refreshAll(): Promise<void> {
    // A slow round must not overlap the next one.
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      const redis = await this.#client();
      // All renewals are written in this one synchronous loop, so a release() issued meanwhile is
      // ordered after them and cannot be undone (except after a NOSCRIPT retry; such a lease is no
      // longer held here and lapses within leaseMs).
      await Promise.all(
        [...this.#held].map(async ([id, lease]) => {
          try {
            const [ok] = await redis.agLeaseSlot(lease.key, lease.max, lease.leaseMs, id);
            if (ok !== 1 && this.#held.has(id)) {
              this.#unhold(id);
              this.#stats.leasesLost++;
            }
          } catch {
            // Retried next round; the lease only lapses if Redis stays away for a whole lease.
            this.#stats.redisErrors++;
          }
        }),
      );
    } catch {
      this.#stats.redisErrors++;
    } finally {
      this.#refreshing = false;
    }
  }
}
