import type { MaskingProfile } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { CompiledRule } from "./compiled-policy.js";
import type { BodyMasker } from "../pipeline/context.js";
import { DEFAULT_PSEUDONYM_SCOPE, pseudonymKey, type PseudonymContext } from "../../common/masking/pseudonym-scope.js";
import {
  compileProfile,
  defaultProfile,
  maskJson,
  maskText,
  MaskSession,
  type CompiledProfile,
  type MaskingRuleSpec,
} from "../../common/masking/index.js";
import { maskBodyBounded } from "../../common/masking/pool.js";
import { findSpans } from "../../common/masking/spans.js";
import { BoundedSseMasker } from "../../common/masking/sse-bounded.js";

/**
 * Compiles every masking profile of a snapshot once (a profile that does not compile
 * rejects the whole snapshot) and returns the per-exchange masker factory: each exchange
 * gets its own MaskSession (pseudonym key, counts) over its policy's profile, or over the
 * default profile when the policy names none — responses are always masked. Pseudonyms are
 * keyed by the policy's pseudonym scope (see pseudonym-scope.ts; the default scope before a
 * policy decided) with the snapshot's `pseudonym` gateway key.
 */
export function createMaskerFactory(
  profiles: readonly MaskingProfile[],
  pseudonymGatewayKey?: Buffer,
): (rule: CompiledRule | undefined, at?: PseudonymContext) => BodyMasker {
  const compiled = new Map<string, CompiledProfile>();
  for (const p of profiles) {
    try {
      compiled.set(p.id, compileProfile(p.rules.map((r) => ({ kind: r.kind, match: r.match, style: r.style || "redact", ...(r.label ? { label: r.label } : {}) }) as MaskingRuleSpec)));
    } catch (e) {
      throw new Error(`masking profile ${p.name}: ${(e as Error).message}`, { cause: e });
    }
  }
  const fallback = defaultProfile();
  return (rule, at = {}) => {
    const profile = (rule?.maskingProfileId && compiled.get(rule.maskingProfileId)) || fallback;
    const session = new MaskSession(pseudonymKey(pseudonymGatewayKey, rule?.pseudonymScope ?? DEFAULT_PSEUDONYM_SCOPE, at));
    return {
      maskJson: (value, source) => maskJson(value, profile, session, findSpans, source),
      maskText: (text) => maskText(text, profile, session),
      sse: (onEvent) => {
        // Hold-back is per logical text; interleaved events never release it (see SseMasker);
        // large events are masked by the masking pool (BoundedSseMasker).
        const masker = new BoundedSseMasker(profile, session, onEvent ? { onEvent } : {});
        return { push: (chunk) => masker.push(chunk), end: () => masker.end() };
      },
      counts: () => ({ ...session.counts }),
      passUninspectable: profile.passUninspectable,
      maskBodyBounded: (body, contentType, opts, keepClean) => maskBodyBounded(body, contentType, profile, session, opts, keepClean),
    };
  };
}
