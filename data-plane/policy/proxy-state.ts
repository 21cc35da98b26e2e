import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { createVerifier, type Verifier, type VerifierOptions } from "../../common/identity/verifier.js";
import type { IdentityProviderConfig } from "../../common/identity/identity-providers.js";
import type { ProxyState } from "../pipeline/context.js";
import { compilePolicy } from "./compile.js";
import type { BindingIndex } from "./binding-index.js";
import { createMaskerFactory } from "./maskers.js";

function providersOf(snapshot: Snapshot): IdentityProviderConfig[] {
  return snapshot.identityProviders.map((p) => ({
    id: p.id,
    issuer: p.issuer,
    ...(p.jwksUri ? { jwksUri: p.jwksUri } : {}),
    audiences: [...p.audiences],
    groupsClaim: p.groupsClaim || "groups",
    ...(p.allowedAlgorithms.length ? { allowedAlgorithms: [...p.allowedAlgorithms] } : {}),
    ...(p.clockToleranceSeconds ? { clockToleranceSeconds: p.clockToleranceSeconds } : {}),
    ...(Object.keys(p.groupMapping).length ? { groupMapping: { ...p.groupMapping } } : {}),
  }));
}

/**
 * Returns the snapshot compiler for a proxy's SnapshotStore. It keeps the previous
 * verifier while the identity providers are unchanged, so a policy change does not throw
 * away warm JWKS and verified-token caches; suspensions still take effect at once because
 * the policy's suspended set is checked on every request.
 */
export function proxyStateCompiler(verifierOptions: VerifierOptions): (snapshot: Snapshot, bindings?: BindingIndex) => ProxyState {
  let previous: { key: string; verifier: Verifier } | undefined;
  return (snapshot, bindings) => {
    const policy = compilePolicy(snapshot, bindings);
    const providers = providersOf(snapshot);
    const key = JSON.stringify(providers);
    const verifier = previous?.key === key ? previous.verifier : createVerifier(providers, verifierOptions);
    const maskerFor = createMaskerFactory(snapshot.maskingProfiles, policy.gatewayKeys.get("pseudonym")?.[0]?.key);
    previous = { key, verifier };
    return { policy, verifier, maskerFor };
  };
}
