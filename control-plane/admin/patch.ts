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
