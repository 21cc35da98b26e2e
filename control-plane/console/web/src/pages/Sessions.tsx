// Sessions (auditors): filters, the list, anomalies linked to their sessions, and one
// session's masked exchange with its chain-verification state and a replay of its stream.
import { useEffect, useRef, useState } from "react";
import { useQuery } from "urql";
import { pretty } from "../format";
import type { Anomaly, ChainReport, Edges, ReplayEvent, SessionDetail, SessionSummary } from "../types";
import { ErrorBox } from "./common";

const SESSION_LIST_FIELDS = "id startedAt subject email graph operation decision status durationMs proxyId";
const LIST = `query Sessions($filter: SessionFilter) { sessions(filter: $filter, first: 100) { edges { node { ${SESSION_LIST_FIELDS} } } } }`;
const ANOMALIES = "query Anomalies($from: DateTime!, $to: DateTime!) { anomalies(from: $from, to: $to) { rule subject email count detail } }";
const ONE = `query Session($id: ID!) { session(id: $id) { ${SESSION_LIST_FIELDS} seq issuer groups reasons method path requestJson responseJson events { offsetMs event data } maskCounts errorCode } }`;
const VERIFY = "query Verify($p: String) { verifySessionChains(proxyId: $p) { proxyId records ok problems { seq kind } } }";
const DAY_MS = 86_400_000;

function filterFrom(params: URLSearchParams): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const key of ["subject", "email", "graph", "decision"]) {
    const value = params.get(key);
    if (value) filter[key] = value;
  }
  for (const key of ["from", "to"]) {
    const value = params.get(key);
    const at = value ? new Date(value) : undefined;
    if (at && !Number.isNaN(at.getTime())) filter[key] = at.toISOString();
  }
  return filter;
}

function Anomalies() {
  // Fixed once per page view, so the variables (and the query) stay the same across renders.
  const [range] = useState(() => {
    const to = new Date();
    return { from: new Date(to.getTime() - DAY_MS).toISOString(), to: to.toISOString() };
  });
  const [{ data, error }] = useQuery<{ anomalies: Anomaly[] }>({ query: ANOMALIES, variables: range });
  return (
    <div id="anomalies">
      {error ? (
        <ErrorBox error={error} />
      ) : !data ? null : data.anomalies.length ? (
        <ul>
          {data.anomalies.map((a, i) => (
            <li key={i}>
              {a.rule}: <a href={`/console/sessions?subject=${encodeURIComponent(a.subject)}`}>{a.email ?? a.subject}</a> ({a.count}) {a.detail}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">None.</p>
      )}
    </div>
  );
}

export function SessionsPage() {
  const [params] = useState(() => new URLSearchParams(location.search));
  const [filter] = useState(() => filterFrom(params));
  const [{ data, error }] = useQuery<{ sessions: Edges<SessionSummary> }>({ query: LIST, variables: { filter } });
  const field = (name: string, placeholder: string, type = "text") => <input name={name} placeholder={placeholder} type={type} defaultValue={params.get(name) ?? ""} />;
  const headers = ["Started", "Identity", "Graph", "Operation", "Decision", "Status", "Duration"];
  return (
    <>
      <h1>Sessions</h1>
      <form className="filters" method="get" action="/console/sessions">
        {field("subject", "subject")}
        {field("email", "email")}
        {field("graph", "graph")}
        <select name="decision" defaultValue={params.get("decision") ?? ""}>
          {["", "allow", "deny"].map((d) => (
            <option key={d} value={d}>
              {d || "any decision"}
            </option>
          ))}
        </select>
        {field("from", "from", "datetime-local")}
        {field("to", "to", "datetime-local")}
        <button type="submit">Filter</button>
      </form>
      <table>
        <thead>
          <tr>
            {headers.map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody id="sessions">
          {error ? (
            <tr>
              <td colSpan={headers.length}>
                <ErrorBox error={error} />
              </td>
            </tr>
          ) : !data ? null : data.sessions.edges.length ? (
            data.sessions.edges.map(({ node: s }) => (
              <tr key={s.id} data-id={s.id}>
                <td>
                  <a href={`/console/sessions/${encodeURIComponent(s.id)}`}>{new Date(s.startedAt).toLocaleString()}</a>
                </td>
                <td>{s.email ?? s.subject ?? "anonymous"}</td>
                <td>{s.graph ?? ""}</td>
                <td>{s.operation ?? ""}</td>
                <td className={s.decision === "allow" ? "ok" : "bad"}>{s.decision}</td>
                <td>{s.status}</td>
                <td>{s.durationMs} ms</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colSpan={headers.length}>No sessions match.</td>
            </tr>
          )}
        </tbody>
      </table>
      <h2>Anomalies (last 24 h)</h2>
      <Anomalies />
    </>
  );
}

/** Replays recorded SSE events at their original offsets, scaled by the chosen speed, with pause. */
export function Replay({ events }: { events: readonly ReplayEvent[] }) {
  const [shown, setShown] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const clock = useRef(0); // recorded milliseconds already played
  useEffect(() => {
    if (!playing) return;
    const next = events[shown];
    if (!next) {
      setPlaying(false);
      return;
    }
    const startedAt = performance.now();
    const timer = setTimeout(
      () => {
        clock.current = next.offsetMs;
        setShown(shown + 1);
      },
      Math.max(0, (next.offsetMs - clock.current) / speed),
    );
    return () => {
      clearTimeout(timer);
      // Paused or sped up before the event was due: keep the recorded time already played.
      if (clock.current < next.offsetMs) clock.current = Math.min(next.offsetMs, clock.current + (performance.now() - startedAt) * speed);
    };
  }, [playing, shown, speed, events]);
  const toggle = () => {
    if (playing) return setPlaying(false);
    if (shown >= events.length) {
      setShown(0);
      clock.current = 0;
    }
    setPlaying(true);
  };
  return (
    <div className="card">
      <h2>Stream replay</h2>
      <button type="button" id="replay-play" onClick={toggle}>
        {playing ? "Pause" : "Play"}
      </button>{" "}
      speed{" "}
      <select id="replay-speed" aria-label="speed" value={String(speed)} onChange={(e) => setSpeed(Number(e.target.value))}>
        {["0.5", "1", "2", "4"].map((s) => (
          <option key={s} value={s}>
            {s}×
          </option>
        ))}
      </select>{" "}
      <span className="muted" id="replay-position">
        {shown}/{events.length}
      </span>
      <pre className="replay-output" id="replay-output">
        {events.slice(0, shown).map((e, i) => (
          <span className="replay-event" key={i}>
            +{e.offsetMs} ms {e.event}: {e.data}
          </span>
        ))}
      </pre>
    </div>
  );
}

function Chain({ session }: { session: SessionDetail }) {
  const [{ data, error }] = useQuery<{ verifySessionChains: ChainReport[] }>({ query: VERIFY, variables: { p: session.proxyId } });
  if (error) {
    return (
      <div id="chain">
        <ErrorBox error={error} />
      </div>
    );
  }
  if (!data) return <p id="chain">Verifying the hash chain…</p>;
  const report = data.verifySessionChains[0];
  if (!report) return <p id="chain" className="bad">No chain for this proxy.</p>;
  const mine = report.problems.filter((p) => p.seq === session.seq);
  return (
    <p id="chain" className={report.ok ? "ok" : "bad"}>
      {report.ok
        ? `Hash chain of ${report.proxyId} verified (${report.records} records).`
        : `Hash chain of ${report.proxyId} has ${report.problems.length} problem(s)${mine.length ? `, this record: ${mine.map((p) => p.kind).join(", ")}` : ""}.`}
    </p>
  );
}

export function SessionPage({ id }: { id: string }) {
  const [{ data, error }] = useQuery<{ session: SessionDetail | null }>({ query: ONE, variables: { id } });
  if (error || !data || !data.session) {
    return (
      <>
        <h1>Session</h1>
        {error ? <ErrorBox error={error} /> : <p>{data ? "No such session." : "Loading…"}</p>}
      </>
    );
  }
  const s = data.session;
  const facts: Array<[string, string]> = [
    ["Identity", `${s.email ?? s.subject ?? "anonymous"} (${s.issuer ?? "no issuer"})`],
    ["Groups", s.groups.join(", ")],
    ["Request", `${s.method} ${s.path}`],
    ["Graph / operation", `${s.graph ?? "-"} / ${s.operation ?? "-"}`],
    ["Decision", `${s.decision} ${s.reasons.join(", ")} → ${s.status}${s.errorCode ? ` ${s.errorCode}` : ""}`],
    ["Started", `${new Date(s.startedAt).toLocaleString()} (${s.durationMs} ms)`],
    ["Masked values", JSON.stringify(s.maskCounts)],
    ["Proxy / seq", `${s.proxyId} #${s.seq}`],
  ];
  return (
    <>
      <h1>Session {s.id}</h1>
      <table>
        <tbody>
          {facts.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Chain session={s} />
      <h2>Request (masked)</h2>
      <pre id="request-json">{pretty(s.requestJson)}</pre>
      <h2>Response (masked)</h2>
      <pre id="response-json">{pretty(s.responseJson)}</pre>
      {s.events.length ? <Replay events={s.events} /> : <p className="muted">No stream events.</p>}
    </>
  );
}
