import type { ApprovalGrant, ApprovalRule, Limits, MaskingRule } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { NameMatcher } from "../../common/policy/glob.js";
import type { BindingIndex } from "./binding-index.js";
import type { PseudonymScope } from "../../common/masking/pseudonym-scope.js";

/** A denylist rule with its pattern compiled once. */
export interface CompiledDenyRule {
  readonly id: string;
  readonly pattern: RegExp;
  /** Dotted path the rule is limited to ("input.messages"); empty = the whole body. */
  readonly path: string;
  readonly message: string;
}

/** One policy, compiled: matchers instead of lists. */
export interface CompiledRule {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly connectionId: string;
  readonly graphs: NameMatcher;
  readonly operations: NameMatcher;
  /** The policy grants `threads:read:any`: other identities' threads are visible. */
  readonly threadsAny: boolean;
  /** The policy grants `store:shared`: store namespaces under ["shared", ...] are common to its holders. */
  readonly storeShared: boolean;
  readonly maskRequests: boolean;
  /** Which exchanges share pseudonyms under this policy. */
  readonly pseudonymScope: PseudonymScope;
  readonly maskingRules: readonly MaskingRule[] | undefined;
  readonly maskingProfileId: string;
  readonly limits: Limits | undefined;
  readonly denylist: readonly CompiledDenyRule[];
  readonly approval: ApprovalRule | undefined;
}

/** An upstream the proxy may forward to. */
export interface CompiledConnection {
  readonly id: string;
  readonly name: string;
  readonly baseUrl: string;
  readonly credentialHeader: string;
  readonly credential: string;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

/** What the proxy evaluates requests against; built once per snapshot, read-only after. */
export interface CompiledPolicy {
  readonly version: bigint;
  readonly connections: ReadonlyMap<string, CompiledConnection>;
  readonly connectionsByName: ReadonlyMap<string, CompiledConnection>;
  /** Role names bound to an issuer's groups and subjects. */
  readonly bindings: BindingIndex;
  /** policies by "role\u0000connectionId", in a stable order */
  readonly rulesByRoleConnection: ReadonlyMap<string, readonly CompiledRule[]>;
  readonly suspended: ReadonlySet<string>;
  /** Approved runs by "issuer\u0000subject" (just-in-time approval grants). */
  readonly grants: ReadonlyMap<string, readonly ApprovalGrant[]>;
  readonly assertionKey: string;
  /** Gateway-only keys by purpose ("owner-tag", "pseudonym"), current generation first. */
  readonly gatewayKeys: ReadonlyMap<string, readonly GatewayKeyEntry[]>;
}

/** One generation of a gateway key: `id` is stamped into values computed with it. */
export interface GatewayKeyEntry {
  readonly id: string;
  readonly key: Buffer;
}

/** Map key for issuer-scoped names; NUL cannot appear in an issuer or a claim. */
export function scopedKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}
