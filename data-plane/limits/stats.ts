import { writeLog } from "../../common/observability/log.js";

/**
 * Counters and the log hook shared by the limiter backends. Kept as plain mutable numbers on one
 * object so the hot path only increments a field; `/metrics` reads a copy.
 */

/** Counters of one limiter. */
export interface LimiterStats {
  /** Which backend makes decisions when all is well. */
  backend: "local" | "redis";
  /** What a Redis failure means (`none` without Redis). */
  failureMode: "none" | "fail-closed" | "fail-open" | "local-fallback";
  /** True while Redis is considered unavailable (between the first failure and the next success). */
  degraded: boolean;
  /** Redis operations that failed or timed out (decisions, releases, settlements, lease refreshes). */
  redisErrors: number;
  /** Decisions made without Redis (local fallback, fail-open or fail-closed). */
  degradedDecisions: number;
  /** Held slots whose Redis lease lapsed and could not be taken back (the run went on uncounted). */
  leasesLost: number;
  /** Local keys dropped by the size cap while still holding state (idle keys are not counted). */
  evictions: number;
}

/** Receives the limiter's rare operational messages; fields never contain secrets or URLs. */
export type LimiterLog = (level: "warn" | "info", msg: string, fields?: Record<string, unknown>) => void;

/** Fresh zeroed counters. */
export function createStats(backend: LimiterStats["backend"], failureMode: LimiterStats["failureMode"] = "none"): LimiterStats {
  return { backend, failureMode, degraded: false, redisErrors: 0, degradedDecisions: 0, leasesLost: 0, evictions: 0 };
}

/** Default log: one JSON line on stderr, like the rest of the data plane. */
export const jsonLineLog: LimiterLog = (level, msg, fields) => writeLog(level, msg, { component: "limits", ...fields });
