/**
 * No privilege escalation through the admin API: a caller may hand out only scopes it
 * holds itself, whether by creating an API token or by binding (or renaming) a reserved
 * control-plane role. Without this, a `write` token could mint itself an `audit` token.
 */
import { CpError } from "../errors.js";
import type { Principal } from "./principal.js";
import type { Scope } from "./scopes.js";

/** Throws FORBIDDEN when `scopes` include one the caller lacks. */
export function assertMayGrant(by: Principal, scopes: Iterable<Scope>, what: string): void {
  const missing = [...new Set(scopes)].filter((s) => !by.scopes.has(s));
  if (missing.length > 0) throw new CpError("FORBIDDEN", `${what} would grant scopes you do not hold: ${missing.join(", ")}`);
}
