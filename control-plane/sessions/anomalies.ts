import type { Db } from "../store/client.js";

/** One anomaly an auditor should look at. */
export interface AnomalyFinding {
  rule: AnomalyRule;
  issuer: string;
  subject: string;
  email: string | null;
  /** The real size of what was found (all of it, not the threshold). */
  count: number;
  detail: string;
  firstAt: Date;
  lastAt: Date;
}

/** The anomaly rules, by name. */
export const ANOMALY_RULES = ["large-payloads", "denial-burst", "new-graph", "off-hours"] as const;
export type AnomalyRule = (typeof ANOMALY_RULES)[number];

/**
 * Thresholds and baselines of the rules. Every field has a default (ANOMALY_DEFAULTS) and is
 * settable through GraphQL `anomalies(...)` and `agentgate audit anomalies --...`.
 */
export interface AnomalyThresholds {
  /** A response this large counts as a large payload. */
  largeBytes: number;
  /** This many large payloads by one identity in the window is a finding. */
  largeCount: number;
  /** This many denials of one identity within `burstWindowMinutes` is a finding. */
  denialBurst: number;
  burstWindowMinutes: number;
  /** This many calls at hours unusual for the identity is a finding (one late call is not). */
  offHoursCount: number;
  /**
   * Usual hours are learned per identity from the `baselineDays` before the window: an hour of
   * the day (UTC) is usual when the identity made any call in it then. With fewer than
   * `minBaselineCalls` baseline calls, the fixed working hours [workHoursStart, workHoursEnd) UTC
   * stand in.
   */
  baselineDays: number;
  minBaselineCalls: number;
  workHoursStart: number;
  workHoursEnd: number;
  /** new-graph only for identities seen for at least this many days before the window (none on a fresh install). */
  learningDays: number;
}

/** Defaults that suit a small deployment. */
export const ANOMALY_DEFAULTS: Readonly<AnomalyThresholds> = Object.freeze({
  largeBytes: 1 << 20,
  largeCount: 3,
  denialBurst: 10,
  burstWindowMinutes: 5,
  offHoursCount: 5,
  baselineDays: 14,
  minBaselineCalls: 20,
  workHoursStart: 6,
  workHoursEnd: 22,
  learningDays: 7,
});

/** Options of {@link findAnomalies}: the window, and any thresholds to override. */
export type AnomalyOptions = { from: Date; to: Date } & Partial<AnomalyThresholds>;

/** Problems with thresholds (for a clear 4xx / CLI error). */
export function anomalyThresholdProblems(t: Partial<AnomalyThresholds>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(t)) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0) out.push(`${key} must be an integer ≥ 0`);
  }
  for (const key of ["largeCount", "denialBurst", "offHoursCount", "burstWindowMinutes"] as const) {
    if (t[key] === 0) out.push(`${key} must be ≥ 1`);
  }
  for (const key of ["workHoursStart", "workHoursEnd"] as const) {
    if (t[key] !== undefined && t[key] > 24) out.push(`${key} must be from 0 to 24`);
  }
  if ((t.baselineDays ?? 0) > 366 || (t.learningDays ?? 0) > 3660) out.push("baselineDays must be ≤ 366 and learningDays ≤ 3660");
  return out;
}

const MAX_SCANNED = 200_000;
const DAY_MS = 86_400_000;

type Row = { issuer: string | null; subject: string | null; email: string | null; graph: string | null; startedAt: Date; decision: string; bytesOut: bigint };
type Identity = { issuer: string; subject: string };

function byIdentity<R extends { issuer: string | null; subject: string | null }>(rows: R[]): Map<string, R[]> {
  const m = new Map<string, R[]>();
  for (const r of rows) {
    if (!r.issuer || !r.subject) continue; // unauthenticated calls have no identity to blame
    const key = `${r.issuer}\u0000${r.subject}`;
    const list = m.get(key);
    if (list) list.push(r);
    else m.set(key, [r]);
  }
  return m;
}

function finding(rule: AnomalyRule, rows: Row[], detail: string): AnomalyFinding {
  return { rule, issuer: rows[0]!.issuer!, subject: rows[0]!.subject!, email: rows.find((r) => r.email)?.email ?? null, count: rows.length, detail, firstAt: rows[0]!.startedAt, lastAt: rows[rows.length - 1]!.startedAt };
}

/** What a rule sees of one identity: its calls in the window (oldest first) and its history. */
interface IdentityView {
  rows: Row[];
  /** Hours of the day (UTC) of its calls in the baseline period. */
  baselineHours: number[];
  /** Its first call ever, if before the window. */
  firstSeen: Date | undefined;
  /** Graphs it used before the window. */
  knownGraphs: Set<string>;
}

type RuleCheck = (view: IdentityView, t: AnomalyThresholds) => AnomalyFinding[];

/** The rules as data: name → check. Each returns its findings with the real count. */
const RULES: Record<AnomalyRule, RuleCheck> = {
  "large-payloads": ({ rows }, t) => {
    const large = rows.filter((r) => r.bytesOut >= BigInt(t.largeBytes));
    return large.length >= t.largeCount ? [finding("large-payloads", large, `${large.length} responses of ≥ ${t.largeBytes} bytes`)] : [];
  },
  "denial-burst": ({ rows }, t) => {
    // The densest window of denials, counted in full (not stopped at the threshold).
    const denials = rows.filter((r) => r.decision === "deny");
    const windowMs = t.burstWindowMinutes * 60_000;
    let best: [number, number] = [0, 0];
    for (let i = 0, j = 0; j < denials.length; j++) {
      while (denials[j]!.startedAt.getTime() - denials[i]!.startedAt.getTime() > windowMs) i++;
      if (j - i + 1 > best[1] - best[0]) best = [i, j + 1];
    }
    const burst = denials.slice(best[0], best[1]);
    return burst.length >= t.denialBurst ? [finding("denial-burst", burst, `${burst.length} denials within ${t.burstWindowMinutes} min`)] : [];
  },
  "off-hours": ({ rows, baselineHours }, t) => {
    const learned = baselineHours.length >= t.minBaselineCalls;
    const usual = new Set(learned ? baselineHours : []);
    const unusual = (h: number) => (learned ? !usual.has(h) : h < t.workHoursStart || h >= t.workHoursEnd);
    const odd = rows.filter((r) => unusual(r.startedAt.getUTCHours()));
    if (odd.length < t.offHoursCount) return [];
    const basis = learned ? `hours this identity did not use in the previous ${t.baselineDays} days` : `${t.workHoursStart}:00–${t.workHoursEnd}:00 UTC (too little history to learn its hours)`;
    return [finding("off-hours", odd, `${odd.length} calls outside ${basis}`)];
  },
  "new-graph": ({ rows, firstSeen, knownGraphs }, t) => {
    // Only once the identity has a history to compare with: not on a fresh install, not for a newcomer.
    if (!firstSeen || rows.length === 0 || rows[0]!.startedAt.getTime() - firstSeen.getTime() < t.learningDays * DAY_MS) return [];
    const fresh = [...new Set(rows.map((r) => r.graph).filter((g): g is string => !!g && !knownGraphs.has(g)))];
    return fresh.map((g) => finding("new-graph", rows.filter((r) => r.graph === g), `first use of graph ${JSON.stringify(g)}`));
  },
};

/**
 * Evaluates the anomaly rules over a time window, per identity, against each identity's own
 * history (usual hours, known graphs). Findings are sorted by count, largest first.
 */
export async function findAnomalies(db: Db, opts: AnomalyOptions): Promise<AnomalyFinding[]> {
  const { from, to, ...overrides } = opts;
  const t: AnomalyThresholds = { ...ANOMALY_DEFAULTS };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (t as unknown as Record<string, number>)[k] = v;

  const rows: Row[] = await db.session.findMany({
    where: { startedAt: { gte: from, lt: to } },
    select: { issuer: true, subject: true, email: true, graph: true, startedAt: true, decision: true, bytesOut: true },
    orderBy: { startedAt: "asc" },
    take: MAX_SCANNED,
  });
  const identities = byIdentity(rows);
  const baseline = byIdentity(
    await db.session.findMany({
      where: { startedAt: { gte: new Date(from.getTime() - t.baselineDays * DAY_MS), lt: from } },
      select: { issuer: true, subject: true, startedAt: true },
      orderBy: { startedAt: "desc" },
      take: MAX_SCANNED,
    }),
  );
  const findings: AnomalyFinding[] = [];
  for (const [key, list] of identities) {
    const who: Identity = { issuer: list[0]!.issuer!, subject: list[0]!.subject! };
    const graphs = [...new Set(list.map((r) => r.graph).filter((g): g is string => !!g))];
    const [first, known] = await Promise.all([
      db.session.findFirst({ where: { ...who, startedAt: { lt: from } }, orderBy: { startedAt: "asc" }, select: { startedAt: true } }),
      graphs.length
        ? db.session.findMany({ where: { ...who, graph: { in: graphs }, startedAt: { lt: from } }, distinct: ["graph"], select: { graph: true } })
        : Promise.resolve([]),
    ]);
    const view: IdentityView = {
      rows: list,
      baselineHours: (baseline.get(key) ?? []).map((r) => r.startedAt.getUTCHours()),
      firstSeen: first?.startedAt,
      knownGraphs: new Set(known.map((k) => k.graph).filter((g): g is string => !!g)),
    };
    for (const rule of ANOMALY_RULES) findings.push(...RULES[rule](view, t));
  }
  return findings.sort((a, b) => b.count - a.count);
}
