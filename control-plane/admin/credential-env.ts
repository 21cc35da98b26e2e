/**
 * Upstream credentials by reference (a policy file's `credentialEnv`): the control plane
 * reads a credential from its own environment only under a name meant for it. Without this
 * a WRITE token could name AGENTGATE_ADMIN_BOOTSTRAP_TOKEN or DATABASE_URL as a
 * connection's credential, point the connection at its own server and receive the secret
 * as the upstream key.
 */

/** Names under this prefix are upstream credentials by convention. */
export const UPSTREAM_CREDENTIAL_PREFIX = "AGENTGATE_UPSTREAM_";

// Variables the control plane or its runtime uses: never readable, even if an operator
// lists one in the allow-list by mistake.
const NEVER = /^(AGENTGATE_(?!UPSTREAM_)|DATABASE_URL$|NODE_|PG[A-Z]+$|REDIS_URL$|npm_)/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Why `name` may not be read as a credential (null: it may), given the operator's extra names. */
export function credentialEnvProblem(name: string, allow: readonly string[]): string | null {
  if (!NAME.test(name)) return `credentialEnv ${JSON.stringify(name)} is not an environment variable name`;
  if (NEVER.test(name)) return `credentialEnv ${name} is a variable of the control plane itself and can never be a credential`;
  if (!name.startsWith(UPSTREAM_CREDENTIAL_PREFIX) && !allow.includes(name)) {
    return `credentialEnv ${name} is not allowed: use a name starting with ${UPSTREAM_CREDENTIAL_PREFIX} or one listed in AGENTGATE_CREDENTIAL_ENV_ALLOW`;
  }
  return null;
}

/** Reads an allowed credential variable; a problem (never the value) when refused or unset. */
export function readCredentialEnv(name: string, allow: readonly string[], env: NodeJS.ProcessEnv = process.env): { value: string } | { problem: string } {
  const problem = credentialEnvProblem(name, allow);
  if (problem !== null) return { problem };
  const value = env[name];
  return value === undefined || value === "" ? { problem: `credentialEnv ${name} is not set in the control plane's environment` } : { value };
}

/** AGENTGATE_CREDENTIAL_ENV_ALLOW: comma-separated extra variable names. */
export function parseCredentialEnvAllow(raw: string | undefined): string[] {
  return (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}
