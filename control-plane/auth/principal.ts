/**
 * Who is calling the admin API, once authenticated: an audit name and a scope set. Plain
 * data, built by the authenticator, read by every resolver's authorization check.
 */
import type { Scope } from "./scopes.js";

/** How the caller proved who they are. */
export type PrincipalKind = "oidc" | "token" | "bootstrap";

/** An authenticated caller. */
export interface Principal {
  readonly kind: PrincipalKind;
  /** Audit name: `oidc:<issuer>|<subject>`, `token:<name>` or {@link BOOTSTRAP_ACTOR}. */
  readonly actor: string;
  /** What the caller may do; empty for an authenticated user without a control-plane role. */
  readonly scopes: ReadonlySet<Scope>;
  /** OIDC callers: who they are and the groups of their token (roles follow from bindings). */
  readonly identity?: { readonly issuer: string; readonly subject: string; readonly groups: readonly string[] };
}

/**
 * Audit name of the AGENTGATE_ADMIN_BOOTSTRAP_TOKEN. "$" cannot appear in an API token
 * name (nameProblems), so no token can pass itself off as the bootstrap token in the log.
 */
export const BOOTSTRAP_ACTOR = "token:$bootstrap";

/** Audit name of the policy file applied at start (AGENTGATE_BOOTSTRAP_FILE). */
export const BOOTSTRAP_FILE_ACTOR = "file:$bootstrap";

/** Audit name of an OIDC identity. */
export function oidcActor(issuer: string, subject: string): string {
  return `oidc:${issuer}|${subject}`;
}

/** Audit name of an API token. */
export function tokenActor(name: string): string {
  return `token:${name}`;
}

/** Builds a frozen principal. */
export function principal(kind: PrincipalKind, actor: string, scopes: Iterable<Scope>, identity?: Principal["identity"]): Principal {
  return Object.freeze({ kind, actor, scopes: new Set(scopes), ...(identity ? { identity: Object.freeze({ ...identity, groups: [...identity.groups] }) } : {}) });
}

/** The (issuer, subject) of an `oidc:` audit name, split at the first "|" (subjects may contain "|", issuer URLs do not). */
export function parseOidcActor(actor: string): { issuer: string; subject: string } | null {
  if (!actor.startsWith("oidc:")) return null;
  const bar = actor.indexOf("|");
  return bar < 0 ? null : { issuer: actor.slice(5, bar), subject: actor.slice(bar + 1) };
}

/**
 * Outcome of authenticating a request: a principal, or why not as a value (never thrown:
 * resolvers turn it into an UNAUTHENTICATED or FORBIDDEN error only when a field needs it,
 * so the public `health` query works whatever the caller sends).
 */
export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly code: "UNAUTHENTICATED" | "FORBIDDEN"; readonly message: string };

/** A failed authentication (messages are fixed strings: never the token or a claim). */
export function authDenied(code: "UNAUTHENTICATED" | "FORBIDDEN", message: string): AuthResult {
  return { ok: false, code, message };
}
