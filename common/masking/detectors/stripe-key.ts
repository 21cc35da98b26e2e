import type { Detector, Span } from "../types.js";
import { isPlaceholderBody } from "../placeholder.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

// Secret (sk_) and restricted (rk_) keys; publishable keys (pk_) are public by design.
const KEY = /(?<![A-Za-z0-9_])[sr]k_(?:live|test|prod)_([A-Za-z0-9]{10,247})(?![A-Za-z0-9_])/g;

function accept(m: RegExpExecArray): Span | null {
  return isPlaceholderBody(m[1]!) ? null : { start: m.index, end: m.index + m[0].length };
}

/** Stripe secret and restricted API keys. */
export const stripeKey: Detector = {
  name: "stripe_key",
  mayMatch: (_text, shape) => (shape.literals & LITERAL.stripe) !== 0,
  find: (text) => scan(KEY, text, accept),
};
