import { globProblems } from "../common/policy/glob.js";
import { ROUTES } from "../common/langgraph/routes.js";
import { compileAdminPattern } from "../common/policy/admin-pattern.js";

/**
 * Input checks shared by every way of writing policy (GraphQL mutations, policy files):
 * each returns a list of problems, empty when valid, so callers can report all at once.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Operations the classifier can produce, plus the ownership override. */
export const KNOWN_OPERATIONS: ReadonlySet<string> = new Set([...ROUTES.map((r) => r.operation), "threads:read:any", "store:shared"]);
const KNOWN_RESOURCES = new Set([...KNOWN_OPERATIONS].map((o) => o.split(":")[0]!));

export function nameProblems(what: string, name: unknown): string[] {
  return typeof name === "string" && NAME.test(name) ? [] : [`${what}: name must be 1-63 characters of letters, digits, ".", "_", "-"`];
}

export function urlProblems(what: string, url: unknown): string[] {
  if (typeof url !== "string") return [`${what}: URL is required`];
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") return [`${what}: URL must be http(s)`];
    if (u.username || u.password) return [`${what}: URL must not carry credentials`];
    return [];
  } catch {
    return [`${what}: invalid URL ${JSON.stringify(url)}`];
  }
}

export function graphProblems(what: string, graphs: unknown): string[] {
  if (!Array.isArray(graphs) || graphs.some((g) => typeof g !== "string")) return [`${what}: graphs must be a list of graph ids or globs`];
  return globProblems(graphs).map((p) => `${what}: ${p}`);
}

export function operationProblems(what: string, operations: unknown): string[] {
  if (!Array.isArray(operations) || operations.some((o) => typeof o !== "string")) return [`${what}: operations must be a list of resource:action`];
  const problems: string[] = [];
  for (const op of operations as string[]) {
    if (op === "*" || KNOWN_OPERATIONS.has(op)) continue;
    const [resource, action, extra] = op.split(":");
    if (extra === undefined && action === "*" && resource && KNOWN_RESOURCES.has(resource)) continue;
    problems.push(`${what}: unknown operation ${JSON.stringify(op)}`);
  }
  return problems.concat(globProblems(operations as string[]).map((p) => `${what}: ${p}`));
}

/** Denylist patterns must compile with the proxies' compiler (RE2: linear time, no backtracking). */
export function denyPatternProblems(what: string, pattern: unknown): string[] {
  const result = compileAdminPattern(typeof pattern === "string" ? pattern : "", "i");
  return result.ok ? [] : [`${what}: ${result.problem}`];
}
