import type { MaskingProfile } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { CompiledRule } from "./compiled-policy.js";
import type { BodyMasker } from "../pipeline/context.js";

/**
 * Compiles every masking profile of a snapshot once and returns the per-exchange masker
 * factory. PLACEHOLDER until the masking engine lands: passes bodies through unchanged.
 */
export function createMaskerFactory(_profiles: readonly MaskingProfile[]): (rule: CompiledRule | undefined) => BodyMasker {
  return () => ({
    maskJson: (v) => v,
    maskText: (t) => t,
    sse: () => ({ push: (chunk) => chunk.toString("utf8"), end: () => "" }),
    counts: () => ({}),
  });
}
