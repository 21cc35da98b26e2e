import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { connectionFromEnv, graphql, CliGraphqlError, type CliConnection } from "./graphql-client.js";
import { replaySession, type ReplayableSession } from "./replay.js";
import { applyFile } from "./apply.js";

/**
 * `agentgate` — what people do from a terminal against a running control plane (GraphQL,
 * authenticated with AGENTGATE_TOKEN: an API token or an OIDC token):
 *
 *   agentgate apply <policy.yaml> [--dry-run]      apply a policy file, print the changes (progress on stderr)
 *   agentgate sessions list [--subject S] [--graph G] [--decision allow|deny] [--limit N]
 *   agentgate sessions replay <id> [--speed N]     print a session with its original timing
 *   agentgate sessions tail [--interval MS]        follow new sessions
 *   agentgate audit verify [--proxy ID]            verify the hash chains (exit 1 on problems)
 *   agentgate audit anomalies [--hours N] [--large-bytes N ...]   list anomaly findings (every threshold a flag)
 *   agentgate approvals list | approve <id> | deny <id>   just-in-time approvals
 */
const SESSION_FIELDS = `id proxyId startedAt durationMs issuer subject email method path status operation graph decision reasons
  requestJson responseJson bytesOut cost errorCode events { offsetMs event data }`;

/**
 * Everything printed passes through here: stored values (assistant ids, emails, reasons)
 * are attacker-controlled, and a terminal escape sequence in one must not rewrite the
 * reviewer's screen. Control characters become visible \u escapes.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const out = (line: string) => process.stdout.write(printable(line) + "\n");
const err = (line: string) => process.stderr.write(printable(line) + "\n");

type SessionFilterOptions = { subject?: string; graph?: string; decision?: string };
type SessionPage = { edges: Array<{ cursor: string; node: ReplayableSession }>; pageInfo: { endCursor: string | null; hasNextPage: boolean } };

async function sessionPage(conn: CliConnection, filter: SessionFilterOptions, first: number, after: string | null, order: "NEWEST_FIRST" | "OLDEST_FIRST"): Promise<SessionPage> {
  const data = await graphql<{ sessions: SessionPage }>(
    conn,
    `query($filter: SessionFilter, $first: Int, $after: String, $order: SessionOrder) {
       sessions(filter: $filter, first: $first, after: $after, order: $order) { edges { cursor node { ${SESSION_FIELDS} } } pageInfo { endCursor hasNextPage } } }`,
    { filter: { ...(filter.subject ? { subject: filter.subject } : {}), ...(filter.graph ? { graph: filter.graph } : {}), ...(filter.decision ? { decision: filter.decision } : {}) }, first, after, order },
  );
  return data.sessions;
}

const PAGE = 50;

const summary = (s: ReplayableSession) =>
  `${s.startedAt}  ${s.id}  ${(s.email ?? s.subject ?? "-").padEnd(24)} ${s.decision.padEnd(5)} ${String(s.status).padEnd(3)} ${(s.operation ?? "-").padEnd(18)} ${s.graph ?? "-"}`;

/** Prints up to `limit` sessions page by page (never the whole list in memory). */
async function listSessions(conn: CliConnection, opts: SessionFilterOptions & { limit: number }): Promise<number> {
  let after: string | null = null;
  for (let left = opts.limit; left > 0; ) {
    const page = await sessionPage(conn, opts, Math.min(left, PAGE), after, "NEWEST_FIRST");
    for (const e of page.edges) out(summary(e.node));
    left -= page.edges.length;
    if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor === null) break;
    after = page.pageInfo.endCursor;
  }
  return 0;
}

async function replay(conn: CliConnection, id: string, opts: { speed: number }): Promise<number> {
  const data = await graphql<{ session: ReplayableSession | null }>(conn, `query($id: ID!) { session(id: $id) { ${SESSION_FIELDS} } }`, { id });
  if (!data.session) throw new CliGraphqlError(`no session ${id}`, "NOT_FOUND");
  await replaySession(data.session, opts.speed, out);
  return 0;
}

/** Follows new sessions: starts after the newest one, then pages forward by cursor. */
async function tail(conn: CliConnection, opts: SessionFilterOptions & { interval: number; signal?: AbortSignal }): Promise<number> {
  let cursor = (await sessionPage(conn, opts, 1, null, "NEWEST_FIRST")).edges[0]?.cursor ?? null;
  while (!opts.signal?.aborted) {
    const page = await sessionPage(conn, opts, PAGE, cursor, "OLDEST_FIRST");
    for (const e of page.edges) out(summary(e.node));
    cursor = page.pageInfo.endCursor ?? cursor;
    if (!page.pageInfo.hasNextPage) await new Promise((r) => setTimeout(r, opts.interval));
  }
  return 0;
}

async function verify(conn: CliConnection, opts: { proxy?: string }): Promise<number> {
  const data = await graphql<{ verifySessionChains: Array<{ proxyId: string; records: number; ok: boolean; problems: Array<{ seq: string; id: string; kind: string }> }> }>(
    conn,
    `query($proxyId: String) { verifySessionChains(proxyId: $proxyId) { proxyId records ok problems { seq id kind } } }`,
    { proxyId: opts.proxy ?? null },
  );
  let bad = 0;
  for (const r of data.verifySessionChains) {
    out(`${r.ok ? "ok     " : "BROKEN "} ${r.proxyId}: ${r.records} records`);
    for (const p of r.problems) out(`        seq ${p.seq} ${p.kind} (session ${p.id})`);
    if (!r.ok) bad++;
  }
  return bad ? 1 : 0;
}

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

async function anomalies(conn: CliConnection, opts: Record<string, number | undefined>): Promise<number> {
  const hours = opts["hours"] ?? 24;
  // commander names each option after its flag in camel case (--burst-minutes → burstMinutes).
  const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const thresholds = Object.fromEntries(ANOMALY_FLAGS.flatMap(([flag, field]) => (opts[camel(flag)] === undefined ? [] : [[field, opts[camel(flag)]]])));
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

type ApprovalNode = { id: string; status: string; requesterSubject: string; requesterEmail: string | null; graph: string; operation: string; createdAt: string };

/** Prints the approval queue page by page. */
async function listApprovals(conn: CliConnection, opts: { status: string; limit: number }): Promise<number> {
  let after: string | null = null;
  for (let left = opts.limit; left > 0; ) {
    const data: { approvalRequests: { edges: Array<{ node: ApprovalNode }>; pageInfo: { endCursor: string | null; hasNextPage: boolean } } } = await graphql(
      conn,
      `query($status: String, $first: Int, $after: String) { approvalRequests(status: $status, first: $first, after: $after) {
         edges { node { id status requesterSubject requesterEmail graph operation createdAt } } pageInfo { endCursor hasNextPage } } }`,
      { status: opts.status, first: Math.min(left, PAGE), after },
    );
    const page = data.approvalRequests;
    for (const { node: a } of page.edges) out(`${a.createdAt}  ${a.id}  ${a.status.padEnd(8)} ${(a.requesterEmail ?? a.requesterSubject).padEnd(24)} ${a.operation} ${a.graph}`);
    left -= page.edges.length;
    if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor === null) break;
    after = page.pageInfo.endCursor;
  }
  return 0;
}

async function decide(conn: CliConnection, decision: "approve" | "deny", id: string, opts: { note?: string }): Promise<number> {
  const field = decision === "approve" ? "approveRequest" : "denyRequest";
  const data = await graphql<Record<string, { status: string; grantExpiresAt: string | null }>>(
    conn,
    `mutation($id: ID!, $note: String) { ${field}(id: $id, note: $note) { status grantExpiresAt } }`,
    { id, note: opts.note ?? null },
  );
  const r = data[field]!;
  out(`${id} ${r.status}${r.grantExpiresAt ? ` until ${r.grantExpiresAt}` : ""}`);
  return 0;
}

function positiveNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    return n;
  };
}

function wholeNumber(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(value);
  };
}

/** The command tree (commander: unknown options and missing arguments are errors, never ignored). */
function program(conn: CliConnection, done: (code: number) => void): Command {
  const run = (work: Promise<number>) => work.then(done);
  const root = new Command("agentgate")
    .description("agentgate control plane from the terminal (AGENTGATE_URL, AGENTGATE_TOKEN)")
    .showHelpAfterError()
    .exitOverride();
  root
    .command("apply")
    .description("apply a policy file (a diff; --dry-run shows it and writes nothing)")
    .argument("<file>", "policy file (YAML)")
    .option("--dry-run", "report the changes, write nothing")
    .option("--timeout <seconds>", "give up after this long (upload + apply)", positiveNumber("--timeout"), 600)
    .action((file: string, opts: { dryRun?: boolean; timeout: number }) => run(applyFile(conn, file, { ...opts, out, progress: err })));
  const sessions = root.command("sessions").description("recorded sessions");
  const filters = (c: Command) =>
    c.option("--subject <subject>", "only this subject").option("--graph <graph>", "only this graph").addOption(new Option("--decision <decision>", "only allowed or denied").choices(["allow", "deny"]));
  filters(sessions.command("list").description("newest sessions first"))
    .option("--limit <n>", "how many", positiveNumber("--limit"), 20)
    .action((opts: SessionFilterOptions & { limit: number }) => run(listSessions(conn, opts)));
  sessions
    .command("replay")
    .description("print a session with its original timing")
    .argument("<id>", "session id")
    .option("--speed <n>", "timing factor (0: no waiting)", positiveNumber("--speed"), 1)
    .action((id: string, opts: { speed: number }) => run(replay(conn, id, opts)));
  filters(sessions.command("tail").description("follow new sessions"))
    .option("--interval <ms>", "poll interval", positiveNumber("--interval"), 1000)
    .action((opts: SessionFilterOptions & { interval: number }) => run(tail(conn, opts)));
  const audit = root.command("audit").description("tamper evidence and anomalies");
  audit.command("verify").description("verify the session hash chains (exit 1 if one is broken)").option("--proxy <id>", "only this proxy").action((opts: { proxy?: string }) => run(verify(conn, opts)));
  const anomalyCommand = audit.command("anomalies").description("anomaly findings").option("--hours <n>", "look back", positiveNumber("--hours"), 24);
  for (const [name, field] of ANOMALY_FLAGS) anomalyCommand.option(`--${name} <n>`, `threshold ${field}`, wholeNumber(`--${name}`));
  anomalyCommand.action((opts: Record<string, number | undefined>) => run(anomalies(conn, opts)));
  const approvals = root.command("approvals").description("just-in-time approval requests");
  approvals
    .command("list")
    .addOption(new Option("--status <status>", "which requests").choices(["pending", "approved", "denied", "expired"]).default("pending"))
    .option("--limit <n>", "how many", positiveNumber("--limit"), 50)
    .action((opts: { status: string; limit: number }) => run(listApprovals(conn, opts)));
  for (const decision of ["approve", "deny"] as const) {
    approvals
      .command(decision)
      .argument("<id>", "request id")
      .option("--note <text>", "note for the requester and the audit log")
      .action((id: string, opts: { note?: string }) => run(decide(conn, decision, id, opts)));
  }
  return root;
}

/** Runs the CLI; returns the process exit code (2: usage error, 1: the command failed). */
export async function runCli(argv: string[]): Promise<number> {
  const conn = connectionFromEnv();
  let code = 0;
  try {
    await program(conn, (c) => (code = c)).parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else commander refuses is a usage error.
      return err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version" ? 0 : 2;
    }
    const code = err instanceof CliGraphqlError && err.code ? ` [${err.code}]` : "";
    process.stderr.write(printable(`agentgate: ${(err as Error).message}${code}`) + "\n");
    // Every problem the control plane listed, one per line (not just "invalid input").
    for (const p of err instanceof CliGraphqlError ? err.problems : []) process.stderr.write(printable(`  - ${p}`) + "\n");
    return 1;
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  process.exitCode = await runCli(process.argv.slice(2));
}
