/**
 * Create and update share one path: the desired state is the current state (or the
 * defaults, for a create) with the input laid over it, and that whole state is validated.
 * In the input, a missing field (undefined) keeps the current value and an explicit null
 * resets it to its default — GraphQL tells the two apart.
 */

/** An input over `T`: every field optional and nullable. */
export type Patch<T> = { readonly [K in keyof T]?: T[K] | null | undefined };

/** `base` with the fields of `patch` laid over it (undefined: keep, null: `defaults[k]`, else null). */
export function applyPatch<T extends object>(base: T, patch: Patch<T>, defaults: Partial<T>): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || !Object.hasOwn(base, key)) continue;
    out[key] = value === null ? (defaults[key as keyof T] ?? null) : value;
  }
  return out as T;
}

/** Stable JSON (object key order does not count). */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * True when an update would store what is already stored: then services write nothing
 * (no version bump, no audit row), so re-applying a policy file reports "unchanged".
 */
export function sameState<T extends object>(current: T, desired: T): boolean {
  return canonical(current) === canonical(desired);
}
