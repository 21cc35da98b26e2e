import { readFile } from "node:fs/promises";
import { connectionFromEnv, graphql, CliGraphqlError, type CliConnection } from "./graphql-client.js";
import { replaySession, type ReplayableSession } from "./replay.js";

/**
 * `agentgate` — what people do from a terminal against a running control plane (GraphQL,
 * authenticated with AGENTGATE_TOKEN: an API token or an OIDC token):
 *
 *   agentgate apply <policy.yaml> [--dry-run]      apply a policy file, print the changes
 *   agentgate sessions list [--subject S] [--graph G] [--decision allow|deny] [--limit N]
 *   agentgate sessions replay <id> [--speed N]     print a session with its original timing
 *   agentgate sessions tail [--interval MS]        follow new sessions
 *   agentgate audit verify [--proxy ID]            verify the hash chains (exit 1 on problems)
 *   agentgate audit anomalies [--hours N] [--large-bytes N ...]   list anomaly findings (every threshold a flag)
 *   agentgate approvals list | approve <id> | deny <id>   just-in-time approvals
 */
const SESSION_FIELDS = `id proxyId startedAt durationMs issuer subject email method path status operation graph decision reasons
  requestJson responseJson bytesOut cost errorCode events { offsetMs event data }`;

type Args = { positional: string[]; flags: Map<string, string | true> };

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) positional.push(a);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) flags.set(a.slice(2), argv[++i]!);
    else flags.set(a.slice(2), true);
  }
  return { positional, flags };
}

const flag = (args: Args, name: string): string | undefined => {
  const v = args.flags.get(name);
  return typeof v === "string" ? v : undefined;
};
const out = (line: string) => process.stdout.write(line + "\n");

/** `audit anomalies` flags → GraphQL arguments: every threshold of every rule is settable. */
const ANOMALY_FLAGS: ReadonlyArray<[string, string]> = [
  ["large-bytes", "largeBytes"],
  ["large-count", "largeCount"],
  ["denial-burst", "denialBurst"],
  ["burst-minutes", "burstWindowMinutes"],
  ["off-hours-count", "offHoursCount"],
  ["baseline-days", "baselineDays"],
  ["min-baseline-calls", "minBaselineCalls"],
  ["work-hours-start", "workHoursStart"],
  ["work-hours-end", "workHoursEnd"],
  ["learning-days", "learningDays"],
];

async function apply(conn: CliConnection, args: Args): Promise<number> {
  const file = args.positional[1];
  if (!file) throw new UsageError("apply needs a policy file");
  const data = await graphql<{ applyPolicyFile: { snapshotVersion: string; changes: Array<{ kind: string; name: string; action: string }> } }>(
    conn,
    `mutation($yaml: String!, $dryRun: Boolean) { applyPolicyFile(yaml: $yaml, dryRun: $dryRun) { snapshotVersion changes { kind name action } } }`,
    { yaml: await readFile(file, "utf8"), dryRun: args.flags.has("dry-run") },
  );
  const { changes, snapshotVersion: version } = data.applyPolicyFile;
  for (const c of changes) out(`${c.action.padEnd(9)} ${c.kind} ${c.name}`);
  out(args.flags.has("dry-run") ? "dry run: nothing was written" : `snapshot version ${version}`);
  return 0;
}

async function listSessions(conn: CliConnection, args: Args, after?: string, order = "NEWEST_FIRST") {
  const filter = {
    ...(flag(args, "subject") ? { subject: flag(args, "subject") } : {}),
    ...(flag(args, "graph") ? { graph: flag(args, "graph") } : {}),
    ...(flag(args, "decision") ? { decision: flag(args, "decision") } : {}),
  };
  const data = await graphql<{ sessions: { edges: Array<{ node: ReplayableSession }>; pageInfo: { endCursor: string | null } } }>(
    conn,
    `query($filter: SessionFilter, $first: Int, $after: String, $order: SessionOrder) {
       sessions(filter: $filter, first: $first, after: $after, order: $order) { edges { node { ${SESSION_FIELDS} } } pageInfo { endCursor } } }`,
    { filter, first: Number(flag(args, "limit") ?? 20), after: after ?? null, order },
  );
  return data.sessions;
}

const summary = (s: ReplayableSession) =>
  `${s.startedAt}  ${s.id}  ${(s.email ?? s.subject ?? "-").padEnd(24)} ${s.decision.padEnd(5)} ${String(s.status).padEnd(3)} ${(s.operation ?? "-").padEnd(18)} ${s.graph ?? "-"}`;

async function sessions(conn: CliConnection, args: Args): Promise<number> {
  const sub = args.positional[1];
  if (sub === "list") {
    for (const e of (await listSessions(conn, args)).edges) out(summary(e.node));
    return 0;
  }
  if (sub === "replay") {
    const id = args.positional[2];
    if (!id) throw new UsageError("sessions replay needs a session id");
    const data = await graphql<{ session: ReplayableSession | null }>(conn, `query($id: ID!) { session(id: $id) { ${SESSION_FIELDS} } }`, { id });
    if (!data.session) throw new CliGraphqlError(`no session ${id}`, "NOT_FOUND");
    await replaySession(data.session, Number(flag(args, "speed") ?? 1), out);
    return 0;
  }
  if (sub === "tail") {
    const interval = Number(flag(args, "interval") ?? 1000);
    // Start from the newest session, then follow forward.
    let cursor = (await listSessions(conn, { ...args, flags: new Map([...args.flags, ["limit", "1"]]) })).edges[0]?.node.id;
    for (;;) {
      const page = await listSessions(conn, args, cursor, "OLDEST_FIRST");
      for (const e of page.edges) out(summary(e.node));
      cursor = page.pageInfo.endCursor ?? cursor;
      await new Promise((r) => setTimeout(r, interval));
    }
  }
  throw new UsageError(`unknown sessions command ${JSON.stringify(sub)}`);
}

async function audit(conn: CliConnection, args: Args): Promise<number> {
  const sub = args.positional[1];
  if (sub === "verify") {
    const data = await graphql<{ verifySessionChains: Array<{ proxyId: string; records: number; ok: boolean; problems: Array<{ seq: string; id: string; kind: string }> }> }>(
      conn,
      `query($proxyId: String) { verifySessionChains(proxyId: $proxyId) { proxyId records ok problems { seq id kind } } }`,
      { proxyId: flag(args, "proxy") ?? null },
    );
    let bad = 0;
    for (const r of data.verifySessionChains) {
      out(`${r.ok ? "ok     " : "BROKEN "} ${r.proxyId}: ${r.records} records`);
      for (const p of r.problems) out(`        seq ${p.seq} ${p.kind} (session ${p.id})`);
      if (!r.ok) bad++;
    }
    return bad ? 1 : 0;
  }
  if (sub === "anomalies") {
    const hours = Number(flag(args, "hours") ?? 24);
    if (!(hours > 0)) throw new UsageError("--hours must be a positive number");
    const thresholds: Record<string, number> = {};
    for (const [name, field] of ANOMALY_FLAGS) {
      const v = flag(args, name);
      if (v === undefined) continue;
      if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
      thresholds[field] = Number(v);
    }
    const vars = ANOMALY_FLAGS.map(([, field]) => `$${field}: Int`).join(", ");
    const passed = ANOMALY_FLAGS.map(([, field]) => `${field}: $${field}`).join(", ");
    const data = await graphql<{ anomalies: Array<{ rule: string; subject: string; email: string | null; count: number; detail: string }> }>(
      conn,
      `query($from: DateTime!, $to: DateTime!, ${vars}) { anomalies(from: $from, to: $to, ${passed}) { rule subject email count detail } }`,
      { from: new Date(Date.now() - hours * 3_600_000).toISOString(), to: new Date().toISOString(), ...thresholds },
    );
    for (const f of data.anomalies) out(`${f.rule.padEnd(15)} ${(f.email ?? f.subject).padEnd(24)} ${f.detail}`);
    return 0;
  }
  throw new UsageError(`unknown audit command ${JSON.stringify(sub)}`);
}

async function approvals(conn: CliConnection, args: Args): Promise<number> {
  const sub = args.positional[1];
  if (sub === "list") {
    const data = await graphql<{ approvalRequests: { edges: Array<{ node: { id: string; status: string; requesterSubject: string; requesterEmail: string | null; graph: string; operation: string; createdAt: string } }> } }>(
      conn,
      `query($status: String) { approvalRequests(status: $status) { edges { node { id status requesterSubject requesterEmail graph operation createdAt } } } }`,
      { status: flag(args, "status") ?? "pending" },
    );
    for (const { node: a } of data.approvalRequests.edges) out(`${a.createdAt}  ${a.id}  ${a.status.padEnd(8)} ${(a.requesterEmail ?? a.requesterSubject).padEnd(24)} ${a.operation} ${a.graph}`);
    return 0;
  }
  if (sub === "approve" || sub === "deny") {
    const id = args.positional[2];
    if (!id) throw new UsageError(`approvals ${sub} needs a request id`);
    const field = sub === "approve" ? "approveRequest" : "denyRequest";
    const data = await graphql<Record<string, { status: string; grantExpiresAt: string | null }>>(
      conn,
      `mutation($id: ID!, $note: String) { ${field}(id: $id, note: $note) { status grantExpiresAt } }`,
      { id, note: flag(args, "note") ?? null },
    );
    const r = data[field]!;
    out(`${id} ${r.status}${r.grantExpiresAt ? ` until ${r.grantExpiresAt}` : ""}`);
    return 0;
  }
  throw new UsageError(`unknown approvals command ${JSON.stringify(sub)}`);
}

class UsageError extends Error {}

const USAGE = `usage: agentgate <command>
  apply <policy.yaml> [--dry-run]
  sessions list [--subject S] [--graph G] [--decision allow|deny] [--limit N]
  sessions replay <id> [--speed N]      (0 = print without waiting)
  sessions tail [--interval MS]
  audit verify [--proxy ID]
  audit anomalies [--hours N] [--large-bytes N] [--large-count N] [--denial-burst N]
                  [--burst-minutes N] [--off-hours-count N] [--baseline-days N]
                  [--min-baseline-calls N] [--work-hours-start H] [--work-hours-end H]
                  [--learning-days N]
  approvals list [--status pending|approved|denied]
  approvals approve|deny <id> [--note TEXT]
environment: AGENTGATE_URL (control plane, default http://127.0.0.1:4000), AGENTGATE_TOKEN (API or OIDC token)`;

/** Runs the CLI; returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const conn = connectionFromEnv();
  try {
    switch (args.positional[0]) {
      case "apply":
        return await apply(conn, args);
      case "sessions":
        return await sessions(conn, args);
      case "audit":
        return await audit(conn, args);
      case "approvals":
        return await approvals(conn, args);
      default:
        throw new UsageError(args.positional[0] ? `unknown command ${JSON.stringify(args.positional[0])}` : "");
    }
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) process.stderr.write(`agentgate: ${err.message}\n`);
      process.stderr.write(USAGE + "\n");
      return 2;
    }
    const code = err instanceof CliGraphqlError && err.code ? ` [${err.code}]` : "";
    process.stderr.write(`agentgate: ${(err as Error).message}${code}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  process.exitCode = await runCli(process.argv.slice(2));
}
