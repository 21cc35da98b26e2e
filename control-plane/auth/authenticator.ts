/**
 * Admin authentication for the GraphQL API: `Authorization: Bearer <credential>` where the
 * credential is one of
 * - the bootstrap token (AGENTGATE_ADMIN_BOOTSTRAP_TOKEN, if set): full admin, so a fresh
 *   install can be administered before any identity provider or API token exists;
 * - an API token (`agt_…`): its own scopes;
 * - an OIDC token of a registered identity provider: scopes of its reserved-role bindings.
 */
import { parseBearer, type HttpAllowance, type VerifierOptions } from "../../common/identity/index.js";
import type { Db } from "../store/client.js";
import { authenticateApiToken } from "./api-token-auth.js";
import { API_TOKEN_MARK, sameHash, tokenDigest } from "./api-token-secret.js";
import { createOidcDirectory } from "./oidc-directory.js";
import { BOOTSTRAP_ACTOR, authDenied, principal, type AuthResult } from "./principal.js";
import { SCOPES } from "./scopes.js";

/** Shortest accepted bootstrap token (it is a password to everything). */
export const MIN_BOOTSTRAP_TOKEN_LENGTH = 32;
/** Characters a bootstrap token may use: those of a bearer token (base64url and "."). */
export const BOOTSTRAP_TOKEN_SHAPE = /^[A-Za-z0-9_.-]+$/;

/** Options of {@link createAdminAuthenticator}. */
export interface AdminAuthOptions {
  readonly db: Db;
  /** AGENTGATE_ADMIN_BOOTSTRAP_TOKEN; undefined disables it. */
  readonly bootstrapToken?: string | undefined;
  /** Plain-http identity providers (dev and tests: "loopback"). Default "never". */
  readonly allowHttpIssuers?: HttpAllowance | undefined;
  /** Extra verifier options (tests). */
  readonly verifier?: Omit<VerifierOptions, "allowHttp">;
}

/** Authenticates admin requests by their Authorization header. */
export interface AdminAuthenticator {
  /** Never rejects for a bad credential: failures are values. */
  authenticate(authorization: string | readonly string[] | undefined): Promise<AuthResult>;
}

/** Builds the authenticator; throws at start-up on a bootstrap token that is too weak. */
export function createAdminAuthenticator(opts: AdminAuthOptions): AdminAuthenticator {
  const bootstrap = opts.bootstrapToken;
  if (bootstrap !== undefined && (bootstrap.length < MIN_BOOTSTRAP_TOKEN_LENGTH || !BOOTSTRAP_TOKEN_SHAPE.test(bootstrap))) {
    throw new Error(`the admin bootstrap token must be at least ${MIN_BOOTSTRAP_TOKEN_LENGTH} characters of A-Z a-z 0-9 _ . -`);
  }
  // Compared as fixed-length digests: neither content nor length leaks through timing.
  const bootstrapDigest = bootstrap === undefined ? undefined : tokenDigest(bootstrap);
  const oidc = createOidcDirectory({ db: opts.db, allowHttp: opts.allowHttpIssuers ?? "never", ...(opts.verifier ? { verifier: opts.verifier } : {}) });

  return {
    async authenticate(authorization) {
      const bearer = parseBearer(authorization);
      if (!bearer.ok) return authDenied("UNAUTHENTICATED", bearer.code === "AUTHN_MISSING" ? "authentication required" : bearer.message);
      const token = bearer.token;
      if (bootstrapDigest !== undefined && sameHash(tokenDigest(token), bootstrapDigest)) {
        return { ok: true, principal: principal("bootstrap", BOOTSTRAP_ACTOR, SCOPES) };
      }
      if (token.startsWith(API_TOKEN_MARK)) return authenticateApiToken(opts.db, token);
      return oidc.authenticate(token);
    },
  };
}
