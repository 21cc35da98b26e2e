import { SignJWT } from "jose";
import type { VerifiedIdentity } from "../pipeline/context.js";

const encoder = new TextEncoder();
let cachedKey: { raw: string; key: Uint8Array } | undefined;

/**
 * A short-lived HS256 assertion of the caller's identity for the upstream to trust
 * (header x-agentgate-assertion), signed with the snapshot's assertion key. None when the
 * snapshot has no key.
 */
export async function signAssertion(assertionKey: string, identity: VerifiedIdentity, requestId: string): Promise<string | undefined> {
  if (!assertionKey) return undefined;
  if (cachedKey?.raw !== assertionKey) cachedKey = { raw: assertionKey, key: encoder.encode(assertionKey) };
  return new SignJWT({ email: identity.email, groups: identity.groups, rid: requestId })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("agentgate")
    .setSubject(identity.subject)
    .setAudience("langgraph")
    .setIssuedAt()
    .setExpirationTime("60s")
    .sign(cachedKey.key);
}
