/**
 * Argument checks shared by both backends. Bad numbers here are bugs or bad configuration, not
 * expected denials, so they throw `RangeError` (the failover layer re-throws it rather than
 * treating it as a Redis failure).
 */

/** Slack for float sums of money (0.1 + 0.2 must fit a budget of 0.3). Shared with the Lua scripts. */
export const COST_EPSILON = 1e-9;

function fail(name: string, value: number, rule: string): never {
  throw new RangeError(`limits: ${name} must be ${rule}, got ${value}`);
}

/** Bucket parameters: a positive finite rate and a capacity of at least one token. */
export function checkBucket(ratePerMinute: number, burst: number): void {
  if (!(Number.isFinite(ratePerMinute) && ratePerMinute > 0)) fail("ratePerMinute", ratePerMinute, "a positive number");
  if (!(Number.isFinite(burst) && burst >= 1)) fail("burst", burst, "a number >= 1");
}

/** Slot parameters: an integer maximum of at least one and a positive lease. */
export function checkSlot(max: number, leaseMs: number): void {
  if (!(Number.isInteger(max) && max >= 1)) fail("max", max, "an integer >= 1");
  if (!(Number.isFinite(leaseMs) && leaseMs >= 1)) fail("leaseMs", leaseMs, "a number >= 1");
}

/** A cost amount or budget: finite and not negative. */
export function checkCost(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) fail(name, value, "a finite number >= 0");
}

/**
 * The single admission rule of a cost budget, used by the local backend and mirrored in Lua:
 * what to reserve of `amount` — all of it, or what is left of the budget when less is left but
 * still at least `minimum` — or undefined to deny. An exhausted budget admits nothing, not even
 * a zero estimate. With `minimum` = `amount` this is "spent + amount ≤ budget".
 */
export function reservable(spent: number, amount: number, budget: number, minimum: number): number | undefined {
  if (!(spent < budget)) return undefined;
  const reserve = Math.min(amount, budget - spent);
  return reserve + COST_EPSILON >= minimum ? reserve : undefined;
}
