/**
 * Upstream authentication for the demo LangGraph server.
 *
 * Only the gateway holds the upstream key: every request must carry
 * `x-api-key` equal to `AGENTGATE_UPSTREAM_API_KEY` (set in the server's
 * environment by the launcher). The caller's identity is whatever the gateway
 * put in the `x-agentgate-*` headers.
 *
 * `langgraph.json` sets `disable_studio_auth: true`; without it a request with
 * `x-auth-scheme: langsmith` would skip this handler entirely.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Auth, HTTPException } from "@langchain/langgraph-sdk/auth";
import { identityFromHeaders } from "./identity.js";

/** Environment variable holding the key the upstream accepts. */
export const UPSTREAM_API_KEY_ENV = "AGENTGATE_UPSTREAM_API_KEY";

/**
 * Constant-time string equality. Both sides are hashed first so that neither
 * the comparison time nor `timingSafeEqual`'s length check leaks the key length.
 */
export function keysMatch(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The `Auth` instance referenced by `langgraph.json` (`./auth.ts:auth`). */
export const auth = new Auth().authenticate((request: Request) => {
  const expected = process.env[UPSTREAM_API_KEY_ENV];
  // Fail closed: a server started without a key must not be open.
  if (!expected) {
    throw new HTTPException(500, { message: `${UPSTREAM_API_KEY_ENV} is not set on the upstream` });
  }
  const presented = request.headers.get("x-api-key");
  if (presented === null || presented === "") {
    throw new HTTPException(401, { message: "missing x-api-key" });
  }
  if (!keysMatch(presented, expected)) {
    throw new HTTPException(403, { message: "invalid x-api-key" });
  }
  return identityFromHeaders(request.headers);
});
