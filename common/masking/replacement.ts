import type { CompiledRule } from "./profile.js";
import type { MaskSession } from "./session.js";

/**
 * The text that replaces one masked value under `rule`, and records it in the session:
 * redact → `[REDACTED:label]`; partial → `****` + last 4 digits for partial-safe kinds
 * (cards, phones) with at least 8 digits, otherwise redact; pseudonym → `[label:hmac8]`.
 */
export function replacement(raw: string, rule: CompiledRule, session: MaskSession): string {
  session.count(rule.label);
  switch (rule.style) {
    case "pseudonym":
      return `[${rule.label}:${session.pseudonym(rule.label, raw)}]`;
    case "partial":
      if (rule.partialSafe) {
        const digits = raw.replace(/\D/g, "");
        if (digits.length >= 8) return `****${digits.slice(-4)}`;
      }
      return `[REDACTED:${rule.label}]`;
    default:
      return `[REDACTED:${rule.label}]`;
  }
}

const MASK_TOKEN = /^(?:\[REDACTED:[A-Za-z0-9_.-]{1,64}\]|\[[A-Za-z0-9_.-]{1,64}:[0-9a-f]{8}\]|\*{4}\d{4})$/;

/** True when `s` is already a replacement this engine produced (keeps masking idempotent). */
export function isMaskToken(s: string): boolean {
  return s.length <= 80 && MASK_TOKEN.test(s);
}
