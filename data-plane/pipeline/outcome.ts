import type { GatewayErrorCode } from "../errors.js";
import type { Reason } from "../policy/reasons.js";

/** What a stage returns: go on, or a typed denial that becomes the one JSON error shape. */
export type Outcome =
  | { readonly kind: "continue" }
  | {
      readonly kind: "deny";
      readonly code: GatewayErrorCode;
      readonly reason: Reason | undefined;
      readonly message: string;
      readonly retryAfterSeconds?: number;
    };

/** The shared "go on" value (no allocation per stage). */
export const CONTINUE: Outcome = Object.freeze({ kind: "continue" });

/** Builds a denial. */
export function deny(code: GatewayErrorCode, message: string, reason?: Reason, retryAfterSeconds?: number): Outcome {
  return retryAfterSeconds === undefined
    ? { kind: "deny", code, reason, message }
    : { kind: "deny", code, reason, message, retryAfterSeconds };
}
