import { parse as parseYaml } from "yaml";
import { denyPatternProblems, graphProblems, nameProblems, operationProblems, urlProblems } from "../validation.js";

/** Plain JSON, as stored in Json columns. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A declarative policy file (YAML), the admin's format for `agentgate apply` and bootstrap. */
export interface PolicyDocument {
  identityProviders: Array<{
    issuer: string;
    jwksUri?: string;
    audiences: string[];
    groupsClaim?: string;
    allowedAlgorithms?: string[];
    clockToleranceSeconds?: number;
    groupMapping?: Record<string, string>;
  }>;
  roles: Array<{ name: string; description?: string; bindings: Array<{ issuer: string; group?: string; subject?: string }> }>;
  connections: Array<{
    name: string;
    baseUrl: string;
    credentialHeader?: string;
    /** Name of an environment variable holding the credential (never the credential itself in a file). */
    credentialEnv?: string;
    connectTimeoutMs?: number;
    headersTimeoutMs?: number;
    bodyTimeoutMs?: number;
  }>;
  maskingProfiles: Array<{ name: string; description?: string; rules: Array<{ kind: string; match: string; style?: string; label?: string }> }>;
  policies: Array<{
    name: string;
    description?: string;
    role: string;
    connection: string;
    graphs: string[];
    operations: string[];
    maskingProfile?: string;
    maskRequests?: boolean;
    limits?: { [key: string]: JsonValue };
    denylist?: Array<{ id?: string; pattern: string; path?: string; message?: string }>;
    approval?: { required?: boolean; approverRoles?: string[]; grantTtlSeconds?: number; grantUses?: number };
  }>;
}

/** A policy file that cannot be applied; `problems` lists all of them. */
export class PolicyDocumentError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid policy file:\n- ${problems.join("\n- ")}`);
    this.name = "PolicyDocumentError";
  }
}

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/**
 * Parses and validates a policy file. References (role, connection, masking profile) must
 * name something defined in the same file or already stored: `known` supplies the stored names.
 */
export function parsePolicyDocument(text: string, known: { roles?: Set<string>; connections?: Set<string>; profiles?: Set<string> } = {}): PolicyDocument {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new PolicyDocumentError([`not valid YAML: ${(e as Error).message}`]);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new PolicyDocumentError(["the file must be a YAML mapping"]);
  const r = raw as Record<string, unknown>;
  const unknownKeys = Object.keys(r).filter((k) => !["identityProviders", "roles", "connections", "maskingProfiles", "policies"].includes(k));
  const doc: PolicyDocument = {
    identityProviders: list(r["identityProviders"]),
    roles: list(r["roles"]),
    connections: list(r["connections"]),
    maskingProfiles: list(r["maskingProfiles"]),
    policies: list(r["policies"]),
  };
  const problems = unknownKeys.map((k) => `unknown top-level key ${JSON.stringify(k)}`);
  for (const p of doc.identityProviders) {
    problems.push(...urlProblems(`identity provider ${p.issuer}`, p.issuer));
    if (p.jwksUri !== undefined) problems.push(...urlProblems(`identity provider ${p.issuer} jwksUri`, p.jwksUri));
    if (!Array.isArray(p.audiences) || p.audiences.length === 0) problems.push(`identity provider ${p.issuer}: audiences must list at least one audience`);
    if (p.allowedAlgorithms?.some((a) => a === "none" || a.startsWith("HS"))) problems.push(`identity provider ${p.issuer}: only asymmetric algorithms are allowed`);
  }
  const roleNames = new Set([...(known.roles ?? []), ...doc.roles.map((x) => x.name)]);
  for (const role of doc.roles) {
    problems.push(...nameProblems(`role ${role.name}`, role.name));
    for (const b of list<{ issuer?: string; group?: string; subject?: string }>(role.bindings)) {
      if (!b.issuer || (!b.group === !b.subject)) problems.push(`role ${role.name}: each binding needs an issuer and exactly one of group or subject`);
    }
    role.bindings = list(role.bindings);
  }
  const connectionNames = new Set([...(known.connections ?? []), ...doc.connections.map((c) => c.name)]);
  for (const c of doc.connections) {
    problems.push(...nameProblems(`connection ${c.name}`, c.name), ...urlProblems(`connection ${c.name}`, c.baseUrl));
    if (c.credentialEnv !== undefined && (typeof c.credentialEnv !== "string" || process.env[c.credentialEnv] === undefined)) {
      problems.push(`connection ${c.name}: environment variable ${c.credentialEnv} is not set`);
    }
  }
  const profileNames = new Set([...(known.profiles ?? []), ...doc.maskingProfiles.map((m) => m.name)]);
  for (const m of doc.maskingProfiles) {
    problems.push(...nameProblems(`masking profile ${m.name}`, m.name));
    if (!Array.isArray(m.rules)) problems.push(`masking profile ${m.name}: rules must be a list`);
  }
  for (const p of doc.policies) {
    const what = `policy ${p.name}`;
    problems.push(...nameProblems(what, p.name), ...graphProblems(what, p.graphs), ...operationProblems(what, p.operations));
    if (!roleNames.has(p.role)) problems.push(`${what}: unknown role ${JSON.stringify(p.role)}`);
    if (!connectionNames.has(p.connection)) problems.push(`${what}: unknown connection ${JSON.stringify(p.connection)}`);
    if (p.maskingProfile !== undefined && !profileNames.has(p.maskingProfile)) problems.push(`${what}: unknown masking profile ${JSON.stringify(p.maskingProfile)}`);
    for (const [i, d] of list<{ pattern?: unknown }>(p.denylist).entries()) problems.push(...denyPatternProblems(`${what} denylist #${i + 1}`, d.pattern));
  }
  if (problems.length) throw new PolicyDocumentError(problems);
  return doc;
}
