import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { parseBearer } from "../../common/identity/bearer.js";
import type { VerifyResult } from "../../common/identity/verifier.js";

/**
 * Verifies the caller's bearer token against the snapshot's identity providers (jose,
 * cached JWKS, verified-token cache). Every failure is a 401 naming the failure class,
 * never echoing the token. A token already in the verified-token cache is answered
 * synchronously (no promise, no microtask: issue #14).
 */
export function authenticate(ctx: RequestContext): Outcome | Promise<Outcome> {
  const header = ctx.req.headers["authorization"];
  // An array means the header was sent more than once (see the HTTP front): refused there.
  const bearer = parseBearer(header);
  if (!bearer.ok) return deny(bearer.code === "AUTHN_MISSING" ? "AUTHN_REQUIRED" : "AUTHN_INVALID", bearer.message);
  const verifier = ctx.state.verifier;
  const hit = verifier.cached?.(bearer.token);
  if (hit) return useResult(ctx, hit);
  return verifier.verify(bearer.token).then((result) => useResult(ctx, result));
}

function useResult(ctx: RequestContext, result: VerifyResult): Outcome {
  if (!result.ok) {
    // An identity provider we cannot reach is not the caller's fault: 503, retry later.
    if (result.code === "AUTHN_JWKS_UNAVAILABLE") return deny("IDP_UNAVAILABLE", "the identity provider's keys are unavailable; try again later", undefined, 5);
    if (result.code === "AUTHN_INTERNAL") return deny("INTERNAL", "token verification failed");
    return deny("AUTHN_INVALID", result.message);
  }
  ctx.identity = result.identity;
  return CONTINUE;
}
