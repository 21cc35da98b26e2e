/**
 * Checks that give precise CONFLICT errors before the database would refuse a write with
 * a constraint error (which commit.ts still maps, as the backstop for races).
 */
import { CpError } from "../errors.js";

/** Throws CONFLICT when another row (not `exceptId`) already holds a unique name. */
export function assertUnique(existing: { readonly id: string } | null, exceptId: string | undefined, what: string): void {
  if (existing !== null && existing.id !== exceptId) throw new CpError("CONFLICT", `${what} already exists`);
}

/** Throws CONFLICT naming the policies when `policies` is not empty (deletes the schema restricts). */
export function assertNotUsedByPolicies(what: string, policies: ReadonlyArray<{ readonly name: string }>): void {
  if (policies.length > 0) throw new CpError("CONFLICT", `${what} is used by policies: ${policies.map((p) => p.name).join(", ")}`);
}
