import { createHmac } from "node:crypto";
import type { VerifiedIdentity } from "../pipeline/context.js";

// The JOSE header never changes: encode it once.
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
const LIFETIME_SECONDS = 60;

/**
 * A short-lived HS256 JWT asserting the caller's identity, for the upstream to trust
 * (header x-agentgate-assertion), signed with the snapshot's assertion key; undefined when
 * the snapshot has no key. Built with node:crypto's HMAC directly: jose would re-import the
 * key as a WebCrypto key on every request, which cost about a quarter of the proxy's CPU.
 * Any JWT library verifies it (iss "agentgate", aud "langgraph", 60 s lifetime).
 */
export function signAssertion(assertionKey: string, identity: VerifiedIdentity, requestId: string): string | undefined {
  if (!assertionKey) return undefined;
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    email: identity.email,
    groups: identity.groups,
    rid: requestId,
    idp: identity.issuer,
    iss: "agentgate",
    sub: identity.subject,
    aud: "langgraph",
    iat,
    exp: iat + LIFETIME_SECONDS,
  };
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${createHmac("sha256", assertionKey).update(input).digest("base64url")}`;
}
