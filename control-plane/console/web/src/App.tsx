import { useQuery } from "urql";
import { logout, errorText, type ConsoleUser } from "./api";
import type { Viewer } from "./types";
import { ApprovalPage, ApprovalsPage } from "./pages/Approvals";
import { SessionPage, SessionsPage } from "./pages/Sessions";
import { FleetPage } from "./pages/Fleet";
import { PolicyPage } from "./pages/Policy";

type Scopes = ReadonlySet<string>;

/** The console's pages; the scopes only decide what is shown, the API what is allowed. */
const PAGES = [
  { section: "approvals", title: "Approvals", visible: (s: Scopes) => s.has("APPROVE") || s.has("AUDIT") },
  { section: "sessions", title: "Sessions", visible: (s: Scopes) => s.has("AUDIT") },
  { section: "fleet", title: "Fleet", visible: (s: Scopes) => s.has("READ") },
  { section: "policy", title: "Policy", visible: (s: Scopes) => s.has("WRITE") },
] as const;

const VIEWER = "query Viewer { viewer { actor scopes } }";

function Page({ section, id, scopes }: { section: string | undefined; id: string | undefined; scopes: Scopes }) {
  const page = PAGES.find((p) => p.section === section);
  if (!page) return <Home scopes={scopes} />;
  if (!page.visible(scopes)) {
    return (
      <>
        <h1>{page.title}</h1>
        <p id="no-role">Your account may not see this page.</p>
      </>
    );
  }
  switch (page.section) {
    case "approvals":
      return id ? <ApprovalPage id={id} canDecide={scopes.has("APPROVE")} /> : <ApprovalsPage canDecide={scopes.has("APPROVE")} />;
    case "sessions":
      return id ? <SessionPage id={id} /> : <SessionsPage />;
    case "fleet":
      return <FleetPage />;
    case "policy":
      return <PolicyPage />;
  }
}

function Home({ scopes }: { scopes: Scopes }) {
  const visible = PAGES.filter((p) => p.visible(scopes));
  return (
    <>
      <h1>agentgate console</h1>
      {visible.length ? (
        <ul>
          {visible.map((p) => (
            <li key={p.section}>
              <a href={`/console/${p.section}`}>{p.title}</a>
            </li>
          ))}
        </ul>
      ) : (
        <p id="no-role">Your account has no console role (approver, auditor or admin). Ask an administrator if you need one.</p>
      )}
    </>
  );
}

export function App({ user }: { user: ConsoleUser }) {
  const [{ data, error }] = useQuery<{ viewer: Viewer }>({ query: VIEWER });
  const path = location.pathname.replace(/\/+$/, "");
  const [, , section, rawId] = path.split("/");
  const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
  const scopes: Scopes = new Set(data?.viewer.scopes ?? []);
  return (
    <>
      <header>
        <strong>agentgate</strong>
        <nav id="nav">
          {PAGES.filter((p) => p.visible(scopes)).map((p) => (
            <a key={p.section} href={`/console/${p.section}`} className={section === p.section ? "active" : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <span id="who">{user.email ?? user.sub}</span>
        <button id="logout" type="button" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      <main id="main">
        {error ? (
          <p className="error" role="alert">
            {errorText(error)}
          </p>
        ) : data ? (
          <Page section={section} id={id} scopes={scopes} />
        ) : (
          <p>Loading…</p>
        )}
      </main>
    </>
  );
}
