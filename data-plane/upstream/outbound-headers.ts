import type { CompiledConnection } from "../policy/compiled-policy.js";
import type { VerifiedIdentity } from "../pipeline/context.js";

// Only these caller headers travel upstream (an allow-list: Authorization, cookies,
// x-auth-scheme and every client-sent x-* header are dropped, DESIGN.md §9).
const PASSED_REQUEST_HEADERS = ["accept", "accept-language", "user-agent", "last-event-id", "content-type"] as const;

// Hop-by-hop and length/encoding headers never copied from the upstream response.
const DROPPED_RESPONSE_HEADERS = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
  "transfer-encoding", "upgrade", "content-length", "content-encoding", "set-cookie", "x-api-key",
]);

/** Header values must not carry CR/LF or non-ASCII; identity fields are percent-encoded. */
function headerSafe(value: string): string {
  return encodeURIComponent(value).slice(0, 2048);
}

/**
 * Builds the upstream request headers from scratch: the allow-listed caller headers, the
 * connection's own credential, and the gateway's identity headers (with a signed assertion).
 */
export function outboundHeaders(
  caller: Readonly<Record<string, string | string[] | undefined>>,
  conn: CompiledConnection,
  identity: VerifiedIdentity,
  requestId: string,
  assertion: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of PASSED_REQUEST_HEADERS) {
    const v = caller[name];
    if (typeof v === "string") headers[name] = v;
  }
  headers["accept-encoding"] = "identity"; // bodies are inspected, so no compression upstream
  headers["x-request-id"] = requestId;
  // The session id is the request id: one proxied exchange is one session record.
  headers["x-agentgate-session"] = requestId;
  headers["x-agentgate-identity"] = `${headerSafe(identity.issuer)}|${headerSafe(identity.subject)}`;
  headers["x-agentgate-issuer"] = headerSafe(identity.issuer);
  headers["x-agentgate-sub"] = headerSafe(identity.subject);
  if (identity.email) headers["x-agentgate-email"] = headerSafe(identity.email);
  headers["x-agentgate-groups"] = identity.groups.map(headerSafe).join(",");
  if (assertion) headers["x-agentgate-assertion"] = assertion;
  headers[conn.credentialHeader] = conn.credential;
  return headers;
}

/** Response headers the caller may see: upstream's, minus hop-by-hop and anything echoing the credential. */
export function inboundHeaders(
  upstream: Record<string, string | string[] | undefined>,
  credential: string,
  requestId: string,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
    if (credential && (Array.isArray(value) ? value.some((v) => v.includes(credential)) : value.includes(credential))) continue;
    out[name] = value;
  }
  out["x-request-id"] = requestId;
  return out;
}
