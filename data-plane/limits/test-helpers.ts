/** Test support for the limits engine: the backends under test and Redis key hygiene. Not used at run time. */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createLimiter } from "./limiter.js";
import type { InstrumentedLimiter, LimiterOptions } from "./limiter.js";

/** The Redis the tests use. */
export const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";

/** A key prefix no other test run shares, so runs in parallel never see each other's counters. */
export function uniquePrefix(): string {
  return `agentgate-test:${process.pid}:${randomUUID().slice(0, 8)}:`;
}

/** A backend of the shared contract table: `make()` returns a new limiter (a new "proxy"). */
export interface Backend {
  name: "local" | "redis";
  make(extra?: LimiterOptions): InstrumentedLimiter;
}

/**
 * Generous command timeout for tests that count exact grants: with several jest workers on a
 * small machine, the default 50 ms is sometimes missed and the decision (rightly) falls back to
 * local counters, which is what failover.test.ts checks, not what these tests are about. The same
 * bound applies to the first connection (a loaded machine can take over 250 ms to open it).
 */
export const TEST_COMMAND_TIMEOUT_MS = 2000;

/** Both backends; Redis ones share `prefix`, as proxies of one deployment would. */
export function backends(prefix: string): Backend[] {
  return [
    { name: "local", make: (extra) => createLimiter({ ...extra }) },
    {
      name: "redis",
      make: (extra) =>
        createLimiter({ redisUrl: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: TEST_COMMAND_TIMEOUT_MS, startupWaitMs: TEST_COMMAND_TIMEOUT_MS, ...extra }),
    },
  ];
}

/** A plain client for inspecting and seeding keys. */
export function rawRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== "0");
  return deleted;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
