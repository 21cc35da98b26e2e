import { listSessions, identityAggregates, graphTimeline, type SessionFilter } from "../../sessions/queries.js";
import { anomalyThresholdProblems, findAnomalies, type AnomalyThresholds } from "../../sessions/anomalies.js";
import { verifyStoredChains } from "../../sessions/verify.js";
import { anchorKey } from "../../sessions/anchors.js";
import { withCaller } from "../guard.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";
import { badInput } from "../../errors.js";

type SessionRow = Awaited<ReturnType<typeof listSessions>>["nodes"][number];

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function range(args: { from: Date; to: Date }): { from: Date; to: Date } {
  if (!(args.from < args.to)) throw badInput(["from must be before to"]);
  return args;
}

/** Recorded sessions, audit aggregates, anomalies and chain verification (AUDIT scope). */
export const sessionResolvers = {
  Session: {
    seq: (s: SessionRow) => s.seq.toString(),
    snapshotVersion: (s: SessionRow) => s.snapshotVersion.toString(),
    bytesIn: (s: SessionRow) => s.bytesIn.toString(),
    bytesOut: (s: SessionRow) => s.bytesOut.toString(),
    groups: (s: SessionRow) => list(s.groups),
    reasons: (s: SessionRow) => list(s.reasons),
    events: (s: SessionRow) => list(s.events),
    maskCounts: (s: SessionRow) => s.maskCounts ?? {},
  },
  IdentityAggregate: {
    bytesOut: (a: { bytesOut: bigint }) => a.bytesOut.toString(),
  },
  ChainProblem: {
    seq: (p: { seq: bigint }) => p.seq.toString(),
  },
  Query: {
    sessions: withCaller(async (args: ConnectionArgs & { filter?: SessionFilter | null; order?: "NEWEST_FIRST" | "OLDEST_FIRST" }, _by, ctx) =>
      toConnection(await listSessions(ctx.db, args.filter ?? {}, pageRequest(args), args.order === "OLDEST_FIRST" ? "asc" : "desc")),
    ),
    session: withCaller(async (args: { id: string }, _by, ctx) => ctx.db.session.findUnique({ where: { id: args.id } })),
    identityAggregates: withCaller(async (args: { from: Date; to: Date }, _by, ctx) => identityAggregates(ctx.db, range(args))),
    graphTimeline: withCaller(async (args: { from: Date; to: Date; bucket?: "HOUR" | "DAY" }, _by, ctx) =>
      graphTimeline(ctx.db, range(args), args.bucket === "DAY" ? "day" : "hour"),
    ),
    anomalies: withCaller(async (args: { from: Date; to: Date } & { [K in keyof AnomalyThresholds]?: number | null }, _by, ctx) => {
      const { from, to, ...given } = args;
      const thresholds = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null && v !== undefined)) as Partial<AnomalyThresholds>;
      const problems = anomalyThresholdProblems(thresholds);
      if (problems.length) throw badInput(problems);
      return findAnomalies(ctx.db, { ...range({ from, to }), ...thresholds });
    }),
    verifySessionChains: withCaller(async (args: { proxyId?: string | null }, _by, ctx) => verifyStoredChains(ctx.db, anchorKey(ctx.admin.secrets), args.proxyId ?? undefined)),
  },
};
