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

function mac(key: GatewayKeyEntry, issuer: string, subject: string): string {
  // JSON of the pair: unambiguous even if a subject contains NUL.
  return createHmac("sha256", key.key).update(JSON.stringify([issuer, subject])).digest("hex").slice(0, 32);
}

/**
 * Owner tags are HMAC(owner-tag key, [issuer, subject]), stamped with the key's id: nobody
 * without the control plane's secret can compute another identity's tag, and tags written
 * before a key rotation still verify (the snapshot carries older generations). Undefined when
 * the snapshot has no owner-tag key (callers fail closed).
 */
export function ownerTagsFor(policy: CompiledPolicy, issuer: string, subject: string): OwnerTags | undefined {
  const keys = policy.gatewayKeys.get(OWNER_TAG_PURPOSE);
  const newest = keys?.[0];
  if (!keys || !newest) return undefined;
  return {
    current: `${newest.id}.${mac(newest, issuer, subject)}`,
    owns(tag: unknown): boolean {
      if (typeof tag !== "string") return false;
      const m = TAG.exec(tag);
      const key = m && keys.find((k) => k.id === m[1]);
      if (!m || !key) return false;
      return timingSafeEqual(Buffer.from(mac(key, issuer, subject)), Buffer.from(m[2]!));
    },
  };
}

/** The owner tag in a resource object's metadata ("" when untagged). */
export function ownerIn(resource: unknown): string {
  const metadata = (resource as { metadata?: Record<string, unknown> } | undefined)?.metadata;
  const tag = metadata?.[OWNER_KEY];
  return typeof tag === "string" ? tag : "";
}
