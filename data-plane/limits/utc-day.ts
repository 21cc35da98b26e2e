/** UTC day arithmetic for daily budgets (the Lua twin lives in redis-scripts.ts). */

/** Milliseconds in a UTC day (UTC has no DST; leap seconds are smeared away by epoch time). */
export const DAY_MS = 86_400_000;

/** Days since the epoch of the UTC day containing `ms`. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Milliseconds from `ms` until the next UTC midnight (always > 0). */
export function msUntilNextUtcDay(ms: number): number {
  return (utcDay(ms) + 1) * DAY_MS - ms;
}

/** `YYYY-MM-DD` of a day number, as used in Redis cost key names. */
export function utcDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
