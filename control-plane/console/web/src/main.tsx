// agentgate console: React pages over the control plane's GraphQL API (urql). Stored values
// (session data is written by callers, i.e. attackers) reach the page only as React text
// children, which React escapes; nothing here sets HTML from a string.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";
import { App } from "./App";
import { client, loadSession } from "./api";
import "./app.css";

const root = createRoot(document.getElementById("root")!);

loadSession().then(
  (user) => {
    if (!user) return; // on the way to sign-in
    root.render(
      <StrictMode>
        <Provider value={client}>
          <App user={user} />
        </Provider>
      </StrictMode>,
    );
  },
  (err: unknown) => root.render(<p className="error" role="alert">{String(err instanceof Error ? err.message : err)}</p>),
);
