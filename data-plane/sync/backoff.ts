/**
 * Reconnect delays: exponential backoff with "full jitter" (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): delay = random in [0, min(cap, base · 2^attempt)).
 * Full jitter spreads N proxies that lost the control plane at the same moment, so they
 * do not reconnect in lockstep when it comes back. Pure: the random source is a parameter.
 */

/** Backoff parameters. */
export interface BackoffPolicy {
  /** Ceiling of the first attempt's delay. */
  baseMs: number;
  /** Largest ceiling ever used. */
  capMs: number;
}

/** Defaults for reconnecting to the control plane: 200 ms first, never more than 10 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 200, capMs: 10_000 });

/**
 * Reconnecting the session Report stream: never more than 1 s, so records sitting in the
 * spool start flowing within about a second of the control plane's return (issue #13).
 * One attempt per second per proxy is cheap for the control plane to refuse.
 */
export const REPORT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 100, capMs: 1_000 });

/** The ceiling of attempt `attempt` (0-based): min(cap, base · 2^attempt), without jitter. */
export function backoffCeiling(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  // Clamp the exponent: 2^1024 is Infinity, and the cap is reached long before anyway.
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 52);
  return Math.min(policy.capMs, policy.baseMs * 2 ** exp);
}

/**
 * The delay before attempt `attempt` (0-based), in whole milliseconds, in
 * [0, backoffCeiling(attempt)). `random` returns [0, 1), like Math.random.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}
