// agentgate console: plain browser JavaScript, no build step. Every page calls the control
// plane's /graphql with the session cookie and the CSRF header; the API decides what is
// allowed, the scopes only decide what is shown. Stored values (session data is written by
// callers, i.e. attackers) only ever reach the page as text nodes: no innerHTML anywhere.
"use strict";

const state = { csrf: "", scopes: new Set(), actor: "" };
const $ = (id) => document.getElementById(id);

/** Builds an element; strings become text nodes, attributes are set as properties or attributes. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function signIn() {
  location.assign(`/console/login?return=${encodeURIComponent(location.pathname + location.search)}`);
}

class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** One GraphQL call with the session (cookie) and its CSRF token. */
async function gql(query, variables = {}) {
  const res = await fetch("/graphql", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-agentgate-csrf": state.csrf },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status}` }] }));
  if (body.errors?.length) {
    const code = body.errors[0].extensions?.code;
    if (code === "UNAUTHENTICATED") signIn();
    throw new ApiError(body.errors.map((e) => e.message).join("; "), code);
  }
  return body.data;
}

const age = (iso) => {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
};
const pretty = (value) => {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") return JSON.stringify(value, null, 2);
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
};
const errorBox = (err) => el("p", { class: "error", role: "alert" }, String(err.message ?? err));

function render(...nodes) {
  $("main").replaceChildren(...nodes);
}

// ---------------------------------------------------------------- pages

const PAGES = [
  { path: "/console/approvals", title: "Approvals", visible: () => state.scopes.has("APPROVE") || state.scopes.has("AUDIT"), show: approvalsPage },
  { path: "/console/sessions", title: "Sessions", visible: () => state.scopes.has("AUDIT"), show: sessionsPage },
  { path: "/console/fleet", title: "Fleet", visible: () => state.scopes.has("READ"), show: fleetPage },
  { path: "/console/policy", title: "Policy", visible: () => state.scopes.has("WRITE"), show: policyPage },
];

function homePage() {
  const visible = PAGES.filter((p) => p.visible());
  render(
    el("h1", {}, "agentgate console"),
    visible.length
      ? el("ul", {}, visible.map((p) => el("li", {}, el("a", { href: p.path }, p.title))))
      : el("p", { id: "no-role" }, "Your account has no console role (approver, auditor or admin). Ask an administrator if you need one."),
  );
}

// Approvals: the pending queue, refreshed every few seconds; rows stay put while a reviewer types.
const APPROVAL_FIELDS = "id requesterSubject requesterEmail graph operation parameters reason status reviewer reviewNote createdAt decidedAt";
const NOTIFICATION_FIELDS = "notifications { url status attempts lastStatus lastError deliveredAt }";

function approvalRow(r) {
  const note = el("input", { type: "text", placeholder: "note", "aria-label": "note", name: "note" });
  const result = el("span", { class: "muted" });
  const decide = (mutation) => async () => {
    try {
      const data = await gql(`mutation($id: ID!, $note: String) { ${mutation}(id: $id, note: $note) { id status } }`, { id: r.id, note: note.value || null });
      result.textContent = data[mutation].status;
      row.dataset.status = data[mutation].status;
    } catch (err) {
      result.textContent = err.message;
      result.className = "error";
    }
  };
  const canDecide = state.scopes.has("APPROVE") && r.status === "pending";
  const row = el(
    "tr",
    { dataset: { id: r.id, status: r.status } },
    el("td", {}, el("a", { href: `/console/approvals/${encodeURIComponent(r.id)}` }, r.requesterEmail ?? r.requesterSubject)),
    el("td", {}, r.graph),
    el("td", {}, r.operation),
    el("td", {}, el("pre", {}, pretty(r.parameters))),
    el("td", { title: r.createdAt }, age(r.createdAt)),
    el(
      "td",
      {},
      canDecide ? [note, el("button", { type: "button", onclick: decide("approveRequest") }, "Approve"), el("button", { type: "button", onclick: decide("denyRequest") }, "Deny")] : r.status,
      " ",
      result,
    ),
  );
  return row;
}

function approvalsTable() {
  return el("table", {}, el("thead", {}, el("tr", {}, ["Requester", "Graph", "Operation", "Parameters (masked)", "Age", "Decision"].map((h) => el("th", {}, h)))));
}

async function approvalsPage() {
  const body = el("tbody", { id: "approvals" });
  const status = el("p", { class: "muted" });
  const table = approvalsTable();
  table.append(body);
  render(el("h1", {}, "Approvals"), el("p", {}, "Pending requests (updates every 3 s)."), status, table);
  const refresh = async () => {
    try {
      const data = await gql(`query { approvalRequests(status: "pending", first: 100) { edges { node { ${APPROVAL_FIELDS} } } } }`);
      const nodes = data.approvalRequests.edges.map((e) => e.node);
      const seen = new Set(nodes.map((n) => n.id));
      for (const row of [...body.children]) if (!seen.has(row.dataset.id) && row.dataset.status === "pending") row.remove();
      for (const n of nodes) if (!body.querySelector(`tr[data-id="${CSS.escape(n.id)}"]`)) body.append(approvalRow(n));
      status.textContent = nodes.length ? `${nodes.length} pending` : "Nothing pending.";
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  };
  await refresh();
  setInterval(refresh, 3000);
}

async function approvalPage(id) {
  try {
    const data = await gql(`query($id: ID!) { approvalRequest(id: $id) { ${APPROVAL_FIELDS} ${NOTIFICATION_FIELDS} } }`, { id });
    const r = data.approvalRequest;
    if (!r) return render(el("h1", {}, "Approval request"), el("p", {}, "No such request."));
    const table = approvalsTable();
    table.append(el("tbody", { id: "approvals" }, approvalRow(r)));
    render(
      el("h1", {}, "Approval request"),
      el("p", { class: "muted" }, `Requested by ${r.requesterEmail ?? r.requesterSubject} ${age(r.createdAt)} ago. ${r.reason ?? ""}`),
      table,
      r.reviewer ? el("p", {}, `Decided by ${r.reviewer}: ${r.status}. ${r.reviewNote ?? ""}`) : null,
      r.notifications.length
        ? el("ul", { id: "notifications" }, r.notifications.map((n) => el("li", {}, `Announced to ${n.url}: ${n.status} after ${n.attempts} attempt(s)${n.lastError ? ` (${n.lastError})` : ""}`)))
        : null,
      el("p", {}, el("a", { href: "/console/approvals" }, "All pending requests")),
    );
  } catch (err) {
    render(el("h1", {}, "Approval request"), errorBox(err));
  }
}

// Sessions: filters, list, one session's masked exchange, its stream replayed at original timing.
const SESSION_LIST_FIELDS = "id startedAt subject email graph operation decision status durationMs proxyId";

async function sessionsPage() {
  const params = new URLSearchParams(location.search);
  const input = (name, placeholder, type = "text") => el("input", { name, placeholder, type, value: params.get(name) ?? "" });
  const decision = el("select", { name: "decision" }, ["", "allow", "deny"].map((d) => el("option", { value: d, selected: params.get("decision") === d }, d || "any decision")));
  const form = el("form", { class: "filters", method: "get", action: "/console/sessions" },
    input("subject", "subject"), input("email", "email"), input("graph", "graph"), decision,
    input("from", "from", "datetime-local"), input("to", "to", "datetime-local"),
    el("button", { type: "submit" }, "Filter"));
  const list = el("tbody", { id: "sessions" });
  const anomalies = el("div", { id: "anomalies" });
  render(el("h1", {}, "Sessions"), form, el("table", {}, el("thead", {}, el("tr", {}, ["Started", "Identity", "Graph", "Operation", "Decision", "Status", "Duration"].map((h) => el("th", {}, h)))), list), el("h2", {}, "Anomalies (last 24 h)"), anomalies);
  const filter = {};
  for (const key of ["subject", "email", "graph", "decision"]) if (params.get(key)) filter[key] = params.get(key);
  for (const key of ["from", "to"]) if (params.get(key)) filter[key] = new Date(params.get(key)).toISOString();
  try {
    const data = await gql(`query($filter: SessionFilter) { sessions(filter: $filter, first: 100) { edges { node { ${SESSION_LIST_FIELDS} } } } }`, { filter });
    for (const { node: s } of data.sessions.edges) {
      list.append(el("tr", { dataset: { id: s.id } },
        el("td", {}, el("a", { href: `/console/sessions/${encodeURIComponent(s.id)}` }, new Date(s.startedAt).toLocaleString())),
        el("td", {}, s.email ?? s.subject ?? "anonymous"), el("td", {}, s.graph ?? ""), el("td", {}, s.operation ?? ""),
        el("td", { class: s.decision === "allow" ? "ok" : "bad" }, s.decision), el("td", {}, s.status), el("td", {}, `${s.durationMs} ms`)));
    }
    if (!data.sessions.edges.length) list.append(el("tr", {}, el("td", { colspan: 7 }, "No sessions match.")));
  } catch (err) {
    list.append(el("tr", {}, el("td", { colspan: 7 }, errorBox(err))));
  }
  try {
    const to = new Date();
    const from = new Date(to.getTime() - 86_400_000);
    const data = await gql(`query($from: DateTime!, $to: DateTime!) { anomalies(from: $from, to: $to) { rule subject email count detail } }`, { from: from.toISOString(), to: to.toISOString() });
    anomalies.replaceChildren(data.anomalies.length
      ? el("ul", {}, data.anomalies.map((a) => el("li", {}, `${a.rule}: `, el("a", { href: `/console/sessions?subject=${encodeURIComponent(a.subject)}` }, a.email ?? a.subject), ` (${a.count}) ${a.detail}`)))
      : el("p", { class: "muted" }, "None."));
  } catch (err) {
    anomalies.replaceChildren(errorBox(err));
  }
}

/** Replays SSE events at their recorded offsets, scaled by the chosen speed, with pause. */
function replayer(events) {
  const output = el("pre", { class: "replay-output", id: "replay-output" });
  const speed = el("select", { "aria-label": "speed", id: "replay-speed" }, ["0.5", "1", "2", "4"].map((s) => el("option", { value: s, selected: s === "1" }, `${s}×`)));
  const position = el("span", { class: "muted", id: "replay-position" }, `0/${events.length}`);
  let next = 0;
  let clock = 0; // recorded milliseconds already played
  let timer;
  let startedAt;
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (startedAt !== undefined) clock += (performance.now() - startedAt) * Number(speed.value);
    startedAt = undefined;
  };
  const schedule = () => {
    if (next >= events.length) {
      stop();
      play.textContent = "Play";
      return;
    }
    startedAt = performance.now();
    const wait = Math.max(0, (events[next].offsetMs - clock) / Number(speed.value));
    timer = setTimeout(() => {
      clock = events[next].offsetMs;
      const e = events[next++];
      output.append(el("div", { class: "replay-event" }, `+${e.offsetMs} ms ${e.event}: ${e.data}`));
      position.textContent = `${next}/${events.length}`;
      schedule();
    }, wait);
  };
  const play = el("button", { type: "button", id: "replay-play", onclick: () => {
    if (timer) {
      stop();
      play.textContent = "Play";
      return;
    }
    if (next >= events.length) {
      next = 0;
      clock = 0;
      output.replaceChildren();
    }
    play.textContent = "Pause";
    schedule();
  } }, "Play");
  speed.addEventListener("change", () => {
    if (timer) {
      stop();
      schedule();
    }
  });
  return el("div", { class: "card" }, el("h2", {}, "Stream replay"), play, " speed ", speed, " ", position, output);
}

async function sessionPage(id) {
  try {
    const data = await gql(
      `query($id: ID!) { session(id: $id) { id proxyId seq hash startedAt durationMs issuer subject email groups graph operation assistantId threadId runId decision reasons method path status requestJson responseJson events { offsetMs event data } maskCounts errorCode } }`,
      { id },
    );
    const s = data.session;
    if (!s) return render(el("h1", {}, "Session"), el("p", {}, "No such session."));
    const chain = el("p", { id: "chain" }, "Verifying the hash chain…");
    render(
      el("h1", {}, `Session ${s.id}`),
      el("table", {}, el("tbody", {}, [
        ["Identity", `${s.email ?? s.subject ?? "anonymous"} (${s.issuer ?? "no issuer"})`],
        ["Groups", s.groups.join(", ")],
        ["Request", `${s.method} ${s.path}`],
        ["Graph / operation", `${s.graph ?? "-"} / ${s.operation ?? "-"}`],
        ["Decision", `${s.decision} ${s.reasons.join(", ")} → ${s.status}${s.errorCode ? ` ${s.errorCode}` : ""}`],
        ["Started", `${new Date(s.startedAt).toLocaleString()} (${s.durationMs} ms)`],
        ["Masked values", JSON.stringify(s.maskCounts)],
        ["Proxy / seq", `${s.proxyId} #${s.seq}`],
      ].map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))),
      chain,
      el("h2", {}, "Request (masked)"), el("pre", { id: "request-json" }, pretty(s.requestJson)),
      el("h2", {}, "Response (masked)"), el("pre", { id: "response-json" }, pretty(s.responseJson)),
      s.events.length ? replayer(s.events) : el("p", { class: "muted" }, "No stream events."),
    );
    try {
      const v = await gql(`query($p: String) { verifySessionChains(proxyId: $p) { proxyId records ok problems { seq kind } } }`, { p: s.proxyId });
      const report = v.verifySessionChains[0];
      const mine = report?.problems.filter((p) => p.seq === s.seq) ?? [];
      chain.textContent = !report ? "No chain for this proxy." : report.ok ? `Hash chain of ${report.proxyId} verified (${report.records} records).` : `Hash chain of ${report.proxyId} has ${report.problems.length} problem(s)${mine.length ? `, this record: ${mine.map((p) => p.kind).join(", ")}` : ""}.`;
      chain.className = report?.ok ? "ok" : "bad";
    } catch (err) {
      chain.replaceChildren(errorBox(err));
    }
  } catch (err) {
    render(el("h1", {}, "Session"), errorBox(err));
  }
}

async function fleetPage() {
  render(el("h1", {}, "Fleet"), el("p", {}, "Loading…"));
  try {
    const data = await gql(`query { snapshot { version createdAt } proxies(first: 100) { edges { node { id address connected ackedVersion lastError rejectedVersion lastSeen } } } roles(first: 100) { edges { node { name description } } } policies(first: 100) { edges { node { name role { name } graphs operations } } } }`);
    const current = data.snapshot.version;
    render(
      el("h1", {}, "Fleet"),
      el("p", {}, `Snapshot served: version ${current}`),
      el("table", { id: "proxies" },
        el("thead", {}, el("tr", {}, ["Proxy", "Address", "Connected", "Applied version", "Last error", "Last seen"].map((h) => el("th", {}, h)))),
        el("tbody", {}, data.proxies.edges.map(({ node: p }) => el("tr", {},
          el("td", {}, p.id), el("td", {}, p.address),
          el("td", { class: p.connected ? "ok" : "bad" }, p.connected ? "yes" : "no"),
          el("td", { class: p.ackedVersion === current ? "ok" : "bad" }, p.ackedVersion ?? "none"),
          el("td", {}, p.lastError ? `${p.lastError} (version ${p.rejectedVersion})` : ""),
          el("td", {}, new Date(p.lastSeen).toLocaleString()))))),
      el("h2", {}, "Roles"),
      el("ul", {}, data.roles.edges.map(({ node: r }) => el("li", {}, r.name, r.description ? ` — ${r.description}` : ""))),
      el("h2", {}, "Policies"),
      el("ul", {}, data.policies.edges.map(({ node: p }) => el("li", {}, `${p.name}: role ${p.role.name}, graphs ${p.graphs.join(", ")}, operations ${p.operations.join(", ")}`))),
    );
  } catch (err) {
    render(el("h1", {}, "Fleet"), errorBox(err));
  }
}

function policyPage() {
  const yaml = el("textarea", { id: "policy-yaml", "aria-label": "policy file (YAML)", spellcheck: "false" });
  const out = el("div", { id: "policy-result" });
  const apply = el("button", { type: "button", id: "policy-apply", disabled: true }, "Apply");
  const run = (dryRun) => async () => {
    try {
      const data = await gql(`mutation($yaml: String!, $dryRun: Boolean) { applyPolicyFile(yaml: $yaml, dryRun: $dryRun) { dryRun snapshotVersion changes { kind name action } } }`, { yaml: yaml.value, dryRun });
      const r = data.applyPolicyFile;
      const changed = r.changes.filter((c) => c.action !== "unchanged");
      out.replaceChildren(
        el("p", {}, r.dryRun ? `Dry run: ${changed.length} change(s), nothing written.` : `Applied: snapshot version ${r.snapshotVersion}.`),
        el("table", {}, el("tbody", {}, r.changes.map((c) => el("tr", { class: c.action === "unchanged" ? "muted" : "" }, el("td", {}, c.action), el("td", {}, c.kind), el("td", {}, c.name))))),
      );
      apply.disabled = !r.dryRun; // apply only what was just reviewed
    } catch (err) {
      out.replaceChildren(errorBox(err));
      apply.disabled = true;
    }
  };
  yaml.addEventListener("input", () => (apply.disabled = true));
  apply.addEventListener("click", run(false));
  render(el("h1", {}, "Policy"), el("p", {}, "Paste a policy file, review the changes of a dry run, then apply them."), yaml, el("p", {}, el("button", { type: "button", id: "policy-dry-run", onclick: run(true) }, "Dry run"), " ", apply), out);
}

// ---------------------------------------------------------------- boot

async function boot() {
  const res = await fetch("/console/session", { credentials: "same-origin" });
  if (res.status === 401) return signIn();
  const session = await res.json();
  state.csrf = session.csrf;
  $("who").textContent = session.user.email ?? session.user.sub;
  $("logout").addEventListener("click", async () => {
    const out = await fetch("/console/logout", { method: "POST", credentials: "same-origin", headers: { "x-agentgate-csrf": state.csrf } });
    const body = await out.json().catch(() => ({}));
    location.assign(body.redirect ?? "/console/");
  });
  const viewer = await gql("query { viewer { actor scopes } }");
  state.actor = viewer.viewer.actor;
  state.scopes = new Set(viewer.viewer.scopes);
  const path = location.pathname.replace(/\/+$/, "");
  $("nav").replaceChildren(...PAGES.filter((p) => p.visible()).map((p) => el("a", { href: p.path, class: path.startsWith(p.path) ? "active" : "" }, p.title)));
  const [, , section, id] = path.split("/");
  const page = PAGES.find((p) => p.path === `/console/${section}`);
  if (!page) return homePage();
  if (!page.visible()) return render(el("h1", {}, page.title), el("p", { id: "no-role" }, "Your account may not see this page."));
  if (id && section === "approvals") return approvalPage(decodeURIComponent(id));
  if (id && section === "sessions") return sessionPage(decodeURIComponent(id));
  return page.show();
}

boot().catch((err) => render(errorBox(err)));
