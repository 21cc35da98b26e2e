import type { Detector, Span } from "../types.js";
import { isPlaceholderBody } from "../placeholder.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

// "AIza" + 35 base64url characters, as a whole token (longer strings are something else).
const KEY = /(?<![A-Za-z0-9_-])AIza([A-Za-z0-9_-]{35})(?![A-Za-z0-9_-])/g;

function accept(m: RegExpExecArray): Span | null {
  return isPlaceholderBody(m[1]!) ? null : { start: m.index, end: m.index + m[0].length };
}

/** Google Cloud / Firebase / Gemini API keys. */
export const googleApiKey: Detector = {
  name: "google_api_key",
  mayMatch: (_text, shape) => (shape.literals & LITERAL.google) !== 0,
  find: (text) => scan(KEY, text, accept),
};
