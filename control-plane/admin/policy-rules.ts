/**
 * The parts of a policy beyond who/what: limits, denylist and approval rule, their
 * defaults, how they read from the Json columns (through the snapshot compiler's readers,
 * so what the API shows is exactly what proxies get) and their checks.
 */
import { approvalFromJson, limitsFromJson } from "../snapshot/compile.js";
import { denyPatternProblems, graphProblems } from "../validation.js";
import { jsonRecords } from "./json.js";
import { textProblems } from "./text.js";

/** Limits of a policy; 0 means "no limit" for every field. */
export interface PolicyLimits {
  readonly requestsPerMinute: number;
  readonly burst: number;
  readonly concurrentRuns: number;
  readonly costBudgetPerDay: number;
  readonly maxBodyBytes: number;
  readonly maxRecursionLimit: number;
  /** Cost charged per run, by graph id or glob ("*" for any). */
  readonly costPerRun: Readonly<Record<string, number>>;
  readonly costPer1kTokens: number;
  /** Most one run may be charged (its reservation); 0 = cost per run, or all that is left when tokens are priced. */
  readonly maxCostPerRun: number;
}

/** A denylist rule: a pattern refused in request bodies (optionally under one JSON path). */
export interface DenyRule {
  readonly id: string;
  readonly pattern: string;
  readonly path: string;
  readonly message: string;
}

/** Who must approve a call first, and what an approval grants. */
export interface ApprovalRule {
  readonly required: boolean;
  readonly approverRoles: readonly string[];
  readonly grantTtlSeconds: number;
  readonly grantUses: number;
  /** Webhook (Slack-compatible JSON, HMAC-signed) announcing each new request; "" for none. */
  readonly notifyUrl: string;
}

/** Limits with nothing limited. */
export const NO_LIMITS: PolicyLimits = {
  requestsPerMinute: 0,
  burst: 0,
  concurrentRuns: 0,
  costBudgetPerDay: 0,
  maxBodyBytes: 0,
  maxRecursionLimit: 0,
  costPerRun: {},
  costPer1kTokens: 0,
  maxCostPerRun: 0,
};

/** No approval needed. */
export const NO_APPROVAL: ApprovalRule = { required: false, approverRoles: [], grantTtlSeconds: 0, grantUses: 0, notifyUrl: "" };

// GraphQL Int is a signed 32-bit integer: larger counts could be stored but not shown.
const MAX_COUNT = 2_147_483_647;
const MAX_GRANT_TTL_SECONDS = 7 * 86_400;
const MAX_DENY_RULES = 100;

/** Policy.limits column → limits. */
export function limitsOf(json: unknown): PolicyLimits {
  const l = limitsFromJson(json);
  return {
    requestsPerMinute: l.requestsPerMinute,
    burst: l.burst,
    concurrentRuns: l.concurrentRuns,
    costBudgetPerDay: l.costBudgetPerDay,
    maxBodyBytes: Number(l.maxBodyBytes),
    maxRecursionLimit: l.maxRecursionLimit,
    costPerRun: { ...l.costPerRun },
    costPer1kTokens: l.costPer1kTokens,
    maxCostPerRun: l.maxCostPerRun,
  };
}

/** Policy.approval column → rule. */
export function approvalOf(json: unknown): ApprovalRule {
  const a = approvalFromJson(json);
  // notifyUrl stays in the control plane (proxies never see it), so it is not in the snapshot message.
  const notifyUrl = json !== null && typeof json === "object" && typeof (json as Record<string, unknown>)["notifyUrl"] === "string" ? ((json as Record<string, unknown>)["notifyUrl"] as string) : "";
  return { required: a.required, approverRoles: [...a.approverRoles], grantTtlSeconds: a.grantTtlSeconds, grantUses: a.grantUses, notifyUrl };
}

/** Policy.denylist column → rules (ids default to their position, as the compiler does). */
export function denylistOf(json: unknown): DenyRule[] {
  return jsonRecords(json).map((r, i) => denyRule(r, i));
}

/** A rule from partial input: id defaults to `rule-<n>`, path and message to "". */
export function denyRule(r: { id?: unknown; pattern?: unknown; path?: unknown; message?: unknown }, index: number): DenyRule {
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  return { id: text(r.id) || `rule-${index + 1}`, pattern: text(r.pattern), path: text(r.path), message: text(r.message) };
}

function isCount(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

/** Every problem of a limits object. */
export function limitsProblems(l: PolicyLimits): string[] {
  const out: string[] = [];
  for (const key of ["requestsPerMinute", "burst", "concurrentRuns", "maxRecursionLimit", "maxBodyBytes"] as const) {
    if (!isCount(l[key], MAX_COUNT)) out.push(`limits.${key}: must be an integer from 0 to ${MAX_COUNT}`);
  }
  for (const key of ["costBudgetPerDay", "costPer1kTokens", "maxCostPerRun"] as const) {
    if (!(Number.isFinite(l[key]) && l[key] >= 0)) out.push(`limits.${key}: must be a finite number ≥ 0`);
  }
  const graphs = Object.keys(l.costPerRun);
  out.push(...graphProblems("limits.costPerRun", graphs));
  for (const [graph, cost] of Object.entries(l.costPerRun)) {
    if (!(Number.isFinite(cost) && cost >= 0)) out.push(`limits.costPerRun[${JSON.stringify(graph)}]: must be a finite number ≥ 0`);
  }
  return out;
}

/** Every problem of a denylist. */
export function denylistProblems(rules: readonly DenyRule[]): string[] {
  if (rules.length > MAX_DENY_RULES) return [`denylist: at most ${MAX_DENY_RULES} rules`];
  const out: string[] = [];
  const ids = new Set<string>();
  rules.forEach((r, i) => {
    const what = `denylist #${i + 1}`;
    if (ids.has(r.id)) out.push(`${what}: duplicate id ${JSON.stringify(r.id)}`);
    ids.add(r.id);
    out.push(...denyPatternProblems(what, r.pattern), ...textProblems(`${what} message`, r.message, 500));
    if (/\s/.test(r.path) || r.path.length > 500) out.push(`${what}: path must be a JSON path without white space`);
  });
  return out;
}

/** Why a webhook URL is refused ("" is none and fine): https only, plain http only to loopback (dev). */
export function webhookUrlProblem(url: string): string | undefined {
  if (url === "") return undefined;
  if (url.length > 2048) return "at most 2048 characters";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute URL";
  }
  if (parsed.username || parsed.password) return "must not carry credentials (the HMAC signature authenticates us)";
  const loopback = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i.test(parsed.hostname);
  if (parsed.protocol === "https:" || (parsed.protocol === "http:" && loopback)) return undefined;
  return "must be https (plain http only to a loopback address)";
}

/** Problems of an approval rule that need no database (role names are checked against it by the caller). */
export function approvalProblems(a: ApprovalRule): string[] {
  const out: string[] = [];
  if (a.required && a.approverRoles.length === 0) out.push("approval.approverRoles: name at least one role when approval is required");
  if (!isCount(a.grantTtlSeconds, MAX_GRANT_TTL_SECONDS)) out.push(`approval.grantTtlSeconds: must be an integer from 0 to ${MAX_GRANT_TTL_SECONDS}`);
  if (!isCount(a.grantUses, MAX_COUNT)) out.push("approval.grantUses: must be a non-negative integer");
  const notify = webhookUrlProblem(a.notifyUrl);
  if (notify) out.push(`approval.notifyUrl: ${notify}`);
  return out;
}
