import { createHmac, timingSafeEqual } from "node:crypto";
import type { CompiledPolicy, GatewayKeyEntry } from "../policy/compiled-policy.js";

/** The metadata key that holds an owner tag (threads, runs, assistants). Clients cannot set it. */
export const OWNER_KEY = "agentgate_owner";
/** The gateway key purpose owner tags are computed with (control-plane/snapshot/gateway-keys.ts). */
export const OWNER_TAG_PURPOSE = "owner-tag";

const TAG = /^([A-Za-z0-9_-]{1,16})\.([0-9a-f]{32})$/;

/** The caller's owner tag in its newest form, and a check for tags written under any kept key. */
export interface OwnerTags {
  /** `<key id>.<hex>`: written into new resources. */
  readonly current: string;
  /** True when `tag` is this identity's, under any key generation the snapshot still carries. */
  owns(tag: unknown): boolean;
}

function mac(key: GatewayKeyEntry, pair: string): string {
  return createHmac("sha256", key.key).update(pair).digest("hex").slice(0, 32);
}

/** Identities whose tags are kept per snapshot; past it the cache starts over (a bound, not an LRU). */
const MAX_CACHED_IDENTITIES = 10_000;
/** Tags per compiled snapshot (its keys never change), by identity: an HMAC per request is ~10 µs (issue #14). */
const cached = new WeakMap<CompiledPolicy, Map<string, OwnerTags>>();

/**
 * Owner tags are HMAC(owner-tag key, [issuer, subject]), stamped with the key's id: nobody
 * without the control plane's secret can compute another identity's tag, and tags written
 * before a key rotation still verify (the snapshot carries older generations). Undefined when
 * the snapshot has no owner-tag key (callers fail closed). Computed once per identity and
 * snapshot, each older generation's MAC on first use.
 */
export function ownerTagsFor(policy: CompiledPolicy, issuer: string, subject: string): OwnerTags | undefined {
  const keys = policy.gatewayKeys.get(OWNER_TAG_PURPOSE);
  const newest = keys?.[0];
  if (!keys || !newest) return undefined;
  // JSON of the pair: unambiguous even if a subject contains NUL.
  const pair = JSON.stringify([issuer, subject]);
  let byIdentity = cached.get(policy);
  if (!byIdentity) cached.set(policy, (byIdentity = new Map()));
  let tags = byIdentity.get(pair);
  if (!tags) {
    if (byIdentity.size >= MAX_CACHED_IDENTITIES) byIdentity.clear();
    byIdentity.set(pair, (tags = makeTags(keys, newest, pair)));
  }
  return tags;
}

function makeTags(keys: readonly GatewayKeyEntry[], newest: GatewayKeyEntry, pair: string): OwnerTags {
  const macs = new Map<GatewayKeyEntry, Buffer>();
  const macOf = (key: GatewayKeyEntry): Buffer => {
    let m = macs.get(key);
    if (!m) macs.set(key, (m = Buffer.from(mac(key, pair))));
    return m;
  };
  return {
    current: `${newest.id}.${macOf(newest).toString()}`,
    owns(tag: unknown): boolean {
      if (typeof tag !== "string") return false;
      const m = TAG.exec(tag);
      const key = m && keys.find((k) => k.id === m[1]);
      if (!m || !key) return false;
      return timingSafeEqual(macOf(key), Buffer.from(m[2]!));
    },
  };
}

/** The owner tag in a resource object's metadata ("" when untagged). */
export function ownerIn(resource: unknown): string {
  const metadata = (resource as { metadata?: Record<string, unknown> } | undefined)?.metadata;
  const tag = metadata?.[OWNER_KEY];
  return typeof tag === "string" ? tag : "";
}
