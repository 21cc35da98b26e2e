/**
 * Masking rules ({kind, match, style, label}, applied in order) as the control plane stores
 * them, checked by the masking engine's own validator (common/masking), so a stored
 * profile can always be compiled by the proxies: a bad rule is refused here, with every
 * problem, instead of making proxies reject the snapshot.
 */
import { validateProfile, type MaskingRuleSpec } from "../../common/masking/profile.js";

/** One masking rule as stored. */
export interface MaskingRule {
  readonly kind: string;
  readonly match: string;
  readonly style: string;
  readonly label: string;
}

/** Every problem of a rule list (empty when valid), each starting with "masking rule <n>". */
export function maskingRuleProblems(rules: readonly MaskingRule[]): string[] {
  // The engine checks kind and style itself; the cast only satisfies its input type.
  return validateProfile(rules as readonly MaskingRuleSpec[]).map((p) => `masking ${p}`);
}
