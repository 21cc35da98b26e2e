/**
 * Rotating the gateway keys (owner tags, pseudonyms) for the whole deployment at once: the
 * generation is one database value every replica reads with its next snapshot, so there is
 * no window where replicas publish different current keys (as a per-replica environment
 * value had during a rolling restart). Values made with the 16 newest generations keep
 * verifying (MAX_KEY_GENERATIONS); a value older than that stops verifying, which fails
 * closed (its owner no longer reaches it), never open.
 */
import { CpError } from "../errors.js";
import type { Principal } from "../auth/principal.js";
import { commitChange, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";

/** Upper bound of the generation (as AGENTGATE_GATEWAY_KEY_GENERATION's). */
export const MAX_KEY_GENERATION = 1_000_000;

/** The generation current keys are derived from. */
export async function currentKeyGeneration(deps: Pick<AdminDeps, "db">): Promise<number> {
  return (await deps.db.snapshotVersion.findUnique({ where: { id: 1 } }))?.keyGeneration ?? 1;
}

/** Makes generation n+1 current for every replica and proxy, in one audited, policy-affecting change. */
export async function rotateGatewayKeys(deps: AdminDeps, by: Principal): Promise<Committed<{ keyGeneration: number }>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    // The increment takes the row lock, so concurrent rotations each see their own step; the
    // generation before it is derived from the result (a read beforehand could be stale).
    const { keyGeneration } = await tx.snapshotVersion.update({ where: { id: 1 }, data: { keyGeneration: { increment: 1 } } });
    if (keyGeneration > MAX_KEY_GENERATION) throw new CpError("CONFLICT", `the gateway key generation is at its maximum (${MAX_KEY_GENERATION})`);
    return {
      value: { keyGeneration },
      audit: [{ action: "gatewayKeys.rotate", target: "GatewayKeys:current", before: { keyGeneration: keyGeneration - 1 }, after: { keyGeneration } }],
    };
  });
}
