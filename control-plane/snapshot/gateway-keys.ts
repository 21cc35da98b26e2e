import { createHash, createHmac } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { GatewayKeySchema, type GatewayKey } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { SecretBox } from "../secrets.js";
import type { KeySource, SnapshotKeys } from "./compile.js";

/** What each gateway key is for; a key is only ever used for its one purpose. */
export const GATEWAY_KEY_PURPOSES = ["owner-tag", "pseudonym"] as const;
export type GatewayKeyPurpose = (typeof GATEWAY_KEY_PURPOSES)[number];

/** Generations kept for verification after rotations (older values stop verifying past this). */
export const MAX_KEY_GENERATIONS = 16;

/**
 * The keys proxies need for values nobody else may compute (owner tags, pseudonyms), derived
 * from the control plane's secret key: generation `current` first, then every older one down
 * to 1 (at most MAX_KEY_GENERATIONS), so values made before a rotation still verify. Raising
 * the generation (rotateGatewayKeys, or AGENTGATE_GATEWAY_KEY_GENERATION at a start) rotates every purpose at once.
 */
export function deriveGatewayKeys(secrets: SecretBox, current: number): GatewayKey[] {
  const keys: GatewayKey[] = [];
  for (const purpose of GATEWAY_KEY_PURPOSES) {
    for (let gen = current; gen >= 1 && gen > current - MAX_KEY_GENERATIONS; gen--) {
      const seed = secrets.derive(`agentgate gateway key ${purpose} generation ${gen}`);
      const key = createHmac("sha256", seed).update(purpose).digest();
      keys.push(create(GatewayKeySchema, { purpose, id: `k${gen}`, key }));
    }
  }
  return keys;
}

/**
 * The control plane's key source: the upstream assertion key and, per generation, the
 * gateway keys (the last generation asked for is kept: every build asks for the same one).
 */
export function gatewayKeySource(secrets: SecretBox): KeySource {
  const assertionKey = secrets.derive("agentgate upstream assertion v1");
  let last: { generation: number; keys: SnapshotKeys } | undefined;
  return (generation) => {
    if (last?.generation !== generation) last = { generation, keys: { assertionKey, gatewayKeys: deriveGatewayKeys(secrets, generation) } };
    return last.keys;
  };
}

/** A one-way fingerprint of the keys a snapshot carries (stored to notice a rotation). */
export function keysFingerprint(keys: { readonly assertionKey: string; readonly gatewayKeys: readonly GatewayKey[] }): string {
  const h = createHash("sha256").update(keys.assertionKey);
  for (const k of keys.gatewayKeys) h.update(`\u0000${k.purpose}\u0000${k.id}\u0000`).update(k.key);
  return h.digest("hex");
}
