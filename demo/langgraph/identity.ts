/**
 * Identity the gateway forwards to the upstream in `x-agentgate-*` headers.
 *
 * The LangGraph server copies every `x-*` request header into the run's
 * `config.configurable`, so graphs could read them directly; the auth handler
 * turns them into the run's `langgraph_auth_user` as well, which is where
 * LangGraph code conventionally looks for "who is calling".
 */

/** Prefix of every header the gateway sets to describe the caller. */
export const AGENTGATE_HEADER_PREFIX = "x-agentgate-";

/** Header names the demo understands (all optional). */
export const AGENTGATE_HEADERS = {
  /** Stable identity key, e.g. `issuer|subject` or just the subject. */
  identity: "x-agentgate-identity",
  /** Token subject, used as identity when `x-agentgate-identity` is absent. */
  subject: "x-agentgate-sub",
  email: "x-agentgate-email",
  /** Comma-separated group list. */
  groups: "x-agentgate-groups",
  /** Session id made by the proxy (UUIDv7). */
  session: "x-agentgate-session",
} as const;

/** Identity used when the gateway did not say who the caller is. */
export const ANONYMOUS_GATEWAY_IDENTITY = "agentgate-gateway";

/** What the upstream knows about the caller, as returned by the auth handler. */
export interface AgentgateUser {
  identity: string;
  display_name: string;
  permissions: string[];
  is_authenticated: true;
  email?: string;
  groups: string[];
  /** Every `x-agentgate-*` header as received (lower-case names). */
  agentgate: Record<string, string>;
}

/** Build the upstream user from request headers (case-insensitive). */
export function identityFromHeaders(headers: Headers): AgentgateUser {
  const agentgate: Record<string, string> = {};
  headers.forEach((value, name) => {
    const key = name.toLowerCase();
    if (key.startsWith(AGENTGATE_HEADER_PREFIX)) agentgate[key] = value;
  });
  const identity =
    agentgate[AGENTGATE_HEADERS.identity] ??
    agentgate[AGENTGATE_HEADERS.subject] ??
    ANONYMOUS_GATEWAY_IDENTITY;
  const email = agentgate[AGENTGATE_HEADERS.email];
  const groups = (agentgate[AGENTGATE_HEADERS.groups] ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter((g) => g.length > 0);
  return {
    identity,
    display_name: email ?? identity,
    permissions: [],
    is_authenticated: true,
    ...(email === undefined ? {} : { email }),
    groups,
    agentgate,
  };
}
