/**
 * Readers for Json columns. Rows written by this code always have the right shape, but a
 * row edited by hand or by an older version must not crash a listing: anything unexpected
 * reads as empty.
 */

/** A string[] column (non-strings dropped). */
export function jsonStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : [];
}

/** An object column. */
export function jsonRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** An array-of-objects column. */
export function jsonRecords(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? value.map(jsonRecord) : [];
}

/** A Record<string, string> column (non-string values dropped). */
export function jsonStringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(jsonRecord(value)).filter((e): e is [string, string] => typeof e[1] === "string"));
}
