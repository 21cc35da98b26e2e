// Approvals: the pending queue, refreshed every few seconds (rows stay put while a reviewer
// types; a row decided here stays with its new status), and one request's page, which the
// 428 answer and the webhook announcement link to.
import { useEffect, useState, type ReactNode } from "react";
import { useMutation, useQuery } from "urql";
import { errorText } from "../api";
import { age, pretty } from "../format";
import type { Approval, Edges, Notification } from "../types";
import { ErrorBox } from "./common";

const APPROVAL_FIELDS = "id requesterSubject requesterEmail graph operation parameters reason status reviewer reviewNote createdAt decidedAt";
const PENDING = `query PendingApprovals { approvalRequests(status: "pending", first: 100) { edges { node { ${APPROVAL_FIELDS} } } } }`;
const ONE = `query ApprovalRequest($id: ID!) { approvalRequest(id: $id) { ${APPROVAL_FIELDS} notifications { url status attempts lastStatus lastError deliveredAt } } }`;
const APPROVE = "mutation Approve($id: ID!, $note: String) { approveRequest(id: $id, note: $note) { id status } }";
const DENY = "mutation Deny($id: ID!, $note: String) { denyRequest(id: $id, note: $note) { id status } }";
const REFRESH_MS = 3000;

type Decided = { approveRequest?: { id: string; status: string }; denyRequest?: { id: string; status: string } };

function ApprovalRow({ request, canDecide, onDecided }: { request: Approval; canDecide: boolean; onDecided?: (id: string, status: string) => void }) {
  const [note, setNote] = useState("");
  const [decided, setDecided] = useState<string | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [approveState, approve] = useMutation<Decided>(APPROVE);
  const [denyState, deny] = useMutation<Decided>(DENY);
  const status = decided ?? request.status;
  const busy = approveState.fetching || denyState.fetching;
  const decide = (run: typeof approve, field: keyof Decided) => async () => {
    const result = await run({ id: request.id, note: note || null });
    const outcome = result.data?.[field];
    if (result.error || !outcome) return setProblem(result.error ? errorText(result.error) : "no answer");
    setProblem(undefined);
    setDecided(outcome.status);
    onDecided?.(request.id, outcome.status);
  };
  return (
    <tr data-id={request.id} data-status={status}>
      <td>
        <a href={`/console/approvals/${encodeURIComponent(request.id)}`}>{request.requesterEmail ?? request.requesterSubject}</a>
      </td>
      <td>{request.graph}</td>
      <td>{request.operation}</td>
      <td>
        <pre>{pretty(request.parameters)}</pre>
      </td>
      <td title={request.createdAt}>{age(request.createdAt)}</td>
      <td>
        {canDecide && status === "pending" ? (
          <>
            <input type="text" name="note" placeholder="note" aria-label="note" value={note} onChange={(e) => setNote(e.target.value)} />
            <button type="button" disabled={busy} onClick={() => void decide(approve, "approveRequest")()}>
              Approve
            </button>
            <button type="button" disabled={busy} onClick={() => void decide(deny, "denyRequest")()}>
              Deny
            </button>
          </>
        ) : (
          status
        )}{" "}
        {problem ? <span className="error">{problem}</span> : null}
      </td>
    </tr>
  );
}

function ApprovalsTable({ children }: { children: ReactNode }) {
  return (
    <table>
      <thead>
        <tr>
          {["Requester", "Graph", "Operation", "Parameters (masked)", "Age", "Decision"].map((h) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody id="approvals">{children}</tbody>
    </table>
  );
}

export function ApprovalsPage({ canDecide }: { canDecide: boolean }) {
  const [{ data, error }, refetch] = useQuery<{ approvalRequests: Edges<Approval> }>({ query: PENDING, requestPolicy: "network-only" });
  // Rows in the order they first appeared; a row decided on this page stays (with its status).
  const [rows, setRows] = useState<Approval[]>([]);
  useEffect(() => {
    const timer = setInterval(() => refetch({ requestPolicy: "network-only" }), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refetch]);
  useEffect(() => {
    if (!data) return;
    const pending = data.approvalRequests.edges.map((e) => e.node);
    const fresh = new Map(pending.map((n) => [n.id, n]));
    setRows((prev) => {
      const kept = prev.filter((r) => r.status !== "pending" || fresh.has(r.id)).map((r) => fresh.get(r.id) ?? r);
      const known = new Set(kept.map((r) => r.id));
      return [...kept, ...pending.filter((n) => !known.has(n.id))];
    });
  }, [data]);
  const onDecided = (id: string, status: string) => setRows((prev) => prev.map((r) => (r.id === id ? { ...r, status } : r)));
  const pendingCount = data?.approvalRequests.edges.length ?? 0;
  return (
    <>
      <h1>Approvals</h1>
      <p>Pending requests (updates every {REFRESH_MS / 1000} s).</p>
      {error ? <ErrorBox error={error} /> : <p className="muted" id="approvals-status">{data ? (pendingCount ? `${pendingCount} pending` : "Nothing pending.") : "Loading…"}</p>}
      <ApprovalsTable>
        {rows.map((r) => (
          <ApprovalRow key={r.id} request={r} canDecide={canDecide} onDecided={onDecided} />
        ))}
      </ApprovalsTable>
    </>
  );
}

function NotificationItem({ n }: { n: Notification }) {
  return (
    <li>
      Announced to {n.url}: {n.status} after {n.attempts} attempt(s){n.lastError ? ` (${n.lastError})` : ""}
    </li>
  );
}

export function ApprovalPage({ id, canDecide }: { id: string; canDecide: boolean }) {
  const [{ data, error, fetching }] = useQuery<{ approvalRequest: (Approval & { notifications: Notification[] }) | null }>({ query: ONE, variables: { id } });
  if (error) {
    return (
      <>
        <h1>Approval request</h1>
        <ErrorBox error={error} />
      </>
    );
  }
  if (!data) return <p>{fetching ? "Loading…" : ""}</p>;
  const r = data.approvalRequest;
  if (!r) {
    return (
      <>
        <h1>Approval request</h1>
        <p>No such request.</p>
      </>
    );
  }
  return (
    <>
      <h1>Approval request</h1>
      <p className="muted">
        Requested by {r.requesterEmail ?? r.requesterSubject} {age(r.createdAt)} ago. {r.reason ?? ""}
      </p>
      <ApprovalsTable>
        <ApprovalRow request={r} canDecide={canDecide} />
      </ApprovalsTable>
      {r.reviewer ? (
        <p>
          Decided by {r.reviewer}: {r.status}. {r.reviewNote ?? ""}
        </p>
      ) : null}
      {r.notifications.length ? (
        <ul id="notifications">
          {r.notifications.map((n, i) => (
            <NotificationItem key={i} n={n} />
          ))}
        </ul>
      ) : null}
      <p>
        <a href="/console/approvals">All pending requests</a>
      </p>
    </>
  );
}
