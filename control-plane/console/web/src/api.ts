// The console's one GraphQL client (urql) for the control plane's own /graphql: the session
// cookie authenticates, the CSRF header (from /console/session, kept in memory only, never
// in storage) proves the request comes from these pages. The API decides what is allowed.
import { Client, cacheExchange, fetchExchange, mapExchange, type CombinedError } from "urql";

export const CSRF_HEADER = "x-agentgate-csrf";

let csrf = "";

/** Goes through sign-in and comes back to this page. */
export function signIn(): void {
  location.assign(`/console/login?return=${encodeURIComponent(location.pathname + location.search)}`);
}

export interface ConsoleUser {
  readonly sub: string;
  readonly email?: string;
}

/** The signed-in user and the session's CSRF token, or undefined after sending the browser to sign in. */
export async function loadSession(): Promise<ConsoleUser | undefined> {
  const res = await fetch("/console/session", { credentials: "same-origin" });
  if (res.status === 401) {
    signIn();
    return undefined;
  }
  if (!res.ok) throw new Error(`HTTP ${res.status} from /console/session`);
  const session = (await res.json()) as { user: ConsoleUser; csrf: string };
  csrf = session.csrf;
  return session.user;
}

export async function logout(): Promise<void> {
  const res = await fetch("/console/logout", { method: "POST", credentials: "same-origin", headers: { [CSRF_HEADER]: csrf } });
  const body = (await res.json().catch(() => ({}))) as { redirect?: string };
  location.assign(body.redirect ?? "/console/");
}

const unauthenticated = (error: CombinedError) => error.graphQLErrors.some((e) => e.extensions?.["code"] === "UNAUTHENTICATED");

export const client = new Client({
  url: "/graphql",
  // POST for everything: one request shape, always with the CSRF header.
  preferGetMethod: false,
  fetchOptions: () => ({ credentials: "same-origin", headers: { [CSRF_HEADER]: csrf } }),
  exchanges: [
    mapExchange({
      onError(error) {
        if (unauthenticated(error)) signIn(); // the session ended (expired, signed out elsewhere)
      },
    }),
    cacheExchange,
    fetchExchange,
  ],
});

/** The message to show for a failed call (GraphQL errors without urql's "[GraphQL]" prefix). */
export function errorText(error: CombinedError): string {
  if (error.graphQLErrors.length) return error.graphQLErrors.map((e) => e.message).join("; ");
  return error.networkError?.message ?? error.message;
}
