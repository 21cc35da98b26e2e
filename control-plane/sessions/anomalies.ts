import type { Db } from "../store/client.js";

/** One anomaly an auditor should look at. */
export interface AnomalyFinding {
  rule: "large-payloads" | "denial-burst" | "new-graph" | "off-hours";
  issuer: string;
  subject: string;
  email: string | null;
  count: number;
  detail: string;
  firstAt: Date;
  lastAt: Date;
}

/** Thresholds of the anomaly rules; the defaults suit a small deployment. */
export interface AnomalyOptions {
  from: Date;
  to: Date;
  /** A response this large counts as a large payload. */
  largeBytes?: number;
  /** This many large payloads by one identity in the window is a finding. */
  largeCount?: number;
  /** This many denials of one identity within `burstWindowMs` is a finding. */
  denialBurst?: number;
  burstWindowMs?: number;
  /** Working hours in UTC [start, end); calls outside them are off-hours. */
  workHoursUtc?: [number, number];
  offHoursCount?: number;
}

const MAX_SCANNED = 200_000;

type Row = { issuer: string | null; subject: string | null; email: string | null; graph: string | null; startedAt: Date; decision: string; bytesOut: bigint };

function byIdentity(rows: Row[]): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) {
    if (!r.issuer || !r.subject) continue; // unauthenticated calls have no identity to blame
    const key = `${r.issuer}\u0000${r.subject}`;
    const list = m.get(key);
    if (list) list.push(r);
    else m.set(key, [r]);
  }
  return m;
}

function finding(rule: AnomalyFinding["rule"], rows: Row[], detail: string): AnomalyFinding {
  return { rule, issuer: rows[0]!.issuer!, subject: rows[0]!.subject!, email: rows.find((r) => r.email)?.email ?? null, count: rows.length, detail, firstAt: rows[0]!.startedAt, lastAt: rows[rows.length - 1]!.startedAt };
}

/**
 * Evaluates the anomaly rules over a time window: one identity repeatedly receiving large
 * payloads, bursts of denials, graphs an identity never used before the window, and
 * calls outside working hours. Findings are sorted by count, largest first.
 */
export async function findAnomalies(db: Db, opts: AnomalyOptions): Promise<AnomalyFinding[]> {
  const largeBytes = opts.largeBytes ?? 1 << 20;
  const largeCount = opts.largeCount ?? 3;
  const denialBurst = opts.denialBurst ?? 10;
  const burstWindowMs = opts.burstWindowMs ?? 5 * 60_000;
  const [workStart, workEnd] = opts.workHoursUtc ?? [6, 22];
  const offHoursCount = opts.offHoursCount ?? 1;

  const rows: Row[] = await db.session.findMany({
    where: { startedAt: { gte: opts.from, lt: opts.to } },
    select: { issuer: true, subject: true, email: true, graph: true, startedAt: true, decision: true, bytesOut: true },
    orderBy: { startedAt: "asc" },
    take: MAX_SCANNED,
  });
  const findings: AnomalyFinding[] = [];
  for (const list of byIdentity(rows).values()) {
    const large = list.filter((r) => r.bytesOut >= BigInt(largeBytes));
    if (large.length >= largeCount) findings.push(finding("large-payloads", large, `${large.length} responses of ≥ ${largeBytes} bytes`));

    const denials = list.filter((r) => r.decision === "deny");
    for (let i = 0, j = 0; j < denials.length; j++) {
      while (denials[j]!.startedAt.getTime() - denials[i]!.startedAt.getTime() > burstWindowMs) i++;
      if (j - i + 1 >= denialBurst) {
        findings.push(finding("denial-burst", denials.slice(i, j + 1), `${j - i + 1} denials within ${Math.round(burstWindowMs / 60_000)} min`));
        break;
      }
    }

    const offHours = list.filter((r) => {
      const h = r.startedAt.getUTCHours();
      return h < workStart || h >= workEnd;
    });
    if (offHours.length >= offHoursCount) findings.push(finding("off-hours", offHours, `${offHours.length} calls outside ${workStart}:00–${workEnd}:00 UTC`));

    const graphs = [...new Set(list.map((r) => r.graph).filter((g): g is string => !!g))];
    if (graphs.length) {
      const known = await db.session.findMany({
        where: { issuer: list[0]!.issuer, subject: list[0]!.subject, graph: { in: graphs }, startedAt: { lt: opts.from } },
        distinct: ["graph"],
        select: { graph: true },
      });
      const seen = new Set(known.map((k) => k.graph));
      for (const g of graphs.filter((g) => !seen.has(g))) {
        const uses = list.filter((r) => r.graph === g);
        findings.push(finding("new-graph", uses, `first use of graph ${JSON.stringify(g)}`));
      }
    }
  }
  return findings.sort((a, b) => b.count - a.count);
}
