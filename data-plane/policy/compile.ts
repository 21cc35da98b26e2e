import type { ApprovalGrant, Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { BindingIndex } from "./binding-index.js";
import { compileAdminPattern } from "../../common/policy/admin-pattern.js";
import { compileGlobs } from "../../common/policy/glob.js";
import { DEFAULT_PSEUDONYM_SCOPE, pseudonymScopeOf, type PseudonymScope } from "../../common/masking/pseudonym-scope.js";
import { scopedKey, type CompiledConnection, type CompiledPolicy, type CompiledRule, type GatewayKeyEntry } from "./compiled-policy.js";

/** A snapshot that cannot be applied; lists every problem found (nacked, never half-applied). */
export class SnapshotInvalidError extends Error {
  constructor(readonly problems: string[]) {
    super(`snapshot rejected: ${problems.join("; ")}`);
    this.name = "SnapshotInvalidError";
  }
}

// Compiled denylist patterns by source, reused by later snapshots: an RE2 compile costs
// ~0.25 ms, most of a small policy change's compile on every proxy (issue 18), and patterns
// rarely change. Shared safely: non-global, so matching keeps no state. Bounded.
const denyPatterns = new Map<string, RegExp>();
const MAX_DENY_PATTERNS = 1_024;

/** Denylist patterns are matched case-insensitively against every string of the body, in linear time (RE2). */
function compileDenyPattern(pattern: string): RegExp {
  const known = denyPatterns.get(pattern);
  if (known !== undefined) return known;
  const result = compileAdminPattern(pattern, "i");
  if (!result.ok) throw new Error(`invalid denylist pattern ${JSON.stringify(pattern)}: ${result.problem}`);
  if (denyPatterns.size >= MAX_DENY_PATTERNS) denyPatterns.clear();
  denyPatterns.set(pattern, result.re);
  return result.re;
}

/** A policy's pseudonym scope; empty (a control plane from before the field) = the default. */
function scopeOf(value: string): PseudonymScope {
  const scope = value === "" ? DEFAULT_PSEUDONYM_SCOPE : pseudonymScopeOf(value);
  if (!scope) throw new Error(`unknown pseudonym scope ${JSON.stringify(value)}`);
  return scope;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Turns a Snapshot message into the indexes the hot path reads (EXAMPLES habit 4):
 * role lookups by group and subject, policies by role × connection, compiled globs.
 * Pure; runs off the request path; throws SnapshotInvalidError with all problems.
 *
 * With `bindings` (the SnapshotStore keeps the bindings in force as an index, updated by
 * deltas), the role lookups are that index and `snapshot.roleBindings` is not read;
 * everything else (small) is compiled from `snapshot` as always.
 */
export function compilePolicy(snapshot: Snapshot, bindings?: BindingIndex): CompiledPolicy {
  const problems: string[] = [];
  const roleBindings = bindings ?? BindingIndex.of(snapshot.roleBindings, problems);
  const connections = new Map<string, CompiledConnection>();
  const connectionsByName = new Map<string, CompiledConnection>();
  for (const c of snapshot.connections) {
    let url: URL | undefined;
    try {
      url = new URL(c.baseUrl);
    } catch {
      problems.push(`connection ${c.name}: invalid base URL`);
    }
    if (url && url.protocol !== "http:" && url.protocol !== "https:") problems.push(`connection ${c.name}: base URL must be http(s)`);
    const compiled: CompiledConnection = {
      id: c.id,
      name: c.name,
      baseUrl: c.baseUrl.replace(/\/+$/, ""),
      credentialHeader: (c.credentialHeader || "x-api-key").toLowerCase(),
      credential: c.credential,
      connectTimeoutMs: c.connectTimeoutMs || 5_000,
      headersTimeoutMs: c.headersTimeoutMs || 60_000,
      bodyTimeoutMs: c.bodyTimeoutMs || 300_000,
    };
    connections.set(c.id, compiled);
    connectionsByName.set(c.name, compiled);
  }

  const profiles = new Map(snapshot.maskingProfiles.map((p) => [p.id, p.rules]));
  const rulesByRoleConnection = new Map<string, CompiledRule[]>();
  const policies = [...snapshot.policies].sort((a, b) => a.name.localeCompare(b.name));
  for (const p of policies) {
    if (!connections.has(p.connectionId)) problems.push(`policy ${p.name}: unknown connection`);
    if (p.maskingProfileId && !profiles.has(p.maskingProfileId)) problems.push(`policy ${p.name}: unknown masking profile`);
    try {
      const rule: CompiledRule = {
        id: p.id,
        name: p.name,
        role: p.role,
        connectionId: p.connectionId,
        graphs: compileGlobs(p.graphs),
        operations: compileGlobs(p.operations.filter((o) => o !== "threads:read:any" && o !== "store:shared")),
        threadsAny: p.operations.includes("threads:read:any") || p.operations.includes("*"),
        storeShared: p.operations.includes("store:shared") || p.operations.includes("*"),
        maskRequests: p.maskRequests,
        pseudonymScope: scopeOf(p.pseudonymScope),
        maskingRules: p.maskingProfileId ? profiles.get(p.maskingProfileId) : undefined,
        maskingProfileId: p.maskingProfileId,
        limits: p.limits,
        denylist: p.denylist.map((d) => ({ id: d.id, pattern: compileDenyPattern(d.pattern), path: d.path, message: d.message })),
        approval: p.approval,
      };
      pushTo(rulesByRoleConnection, scopedKey(p.role, p.connectionId), rule);
    } catch (e) {
      problems.push(`policy ${p.name}: ${(e as Error).message}`);
    }
  }
  const gatewayKeys = new Map<string, GatewayKeyEntry[]>();
  for (const k of snapshot.gatewayKeys) {
    if (!k.purpose || !/^[A-Za-z0-9_-]{1,16}$/.test(k.id) || k.key.length < 32) problems.push(`gateway key ${k.purpose}/${k.id}: malformed`);
    else pushTo(gatewayKeys, k.purpose, { id: k.id, key: Buffer.from(k.key) });
  }
  if (problems.length) throw new SnapshotInvalidError(problems);

  return {
    version: snapshot.version,
    connections,
    connectionsByName,
    bindings: roleBindings,
    rulesByRoleConnection,
    suspended: new Set(snapshot.suspendedIdentities.map((i) => scopedKey(i.issuer, i.subject))),
    grants: snapshot.grants.reduce((m, g) => (pushTo(m, scopedKey(g.issuer, g.subject), g), m), new Map<string, ApprovalGrant[]>()),
    assertionKey: snapshot.assertionKey,
    gatewayKeys,
  };
}
