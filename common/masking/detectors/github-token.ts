import type { Detector, Span } from "../types.js";
import { isPlaceholderBody } from "../placeholder.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

// Classic tokens: gh{p,o,u,s,r}_ + ≥36 base62 (refresh and some server tokens are longer);
// fine-grained tokens: github_pat_ + id "_" secret.
const TOKEN = /(?<![A-Za-z0-9_])(?:gh[pousr]_([A-Za-z0-9_]{36,255})|github_pat_([A-Za-z0-9_]{22,255}))(?![A-Za-z0-9_])/g;

function accept(m: RegExpExecArray): Span | null {
  const body = (m[1] ?? m[2]!).replace(/_/g, "");
  return isPlaceholderBody(body) ? null : { start: m.index, end: m.index + m[0].length };
}

/** GitHub personal, OAuth, app and fine-grained tokens. */
export const githubToken: Detector = {
  name: "github_token",
  mayMatch: (_text, shape) => (shape.literals & LITERAL.github) !== 0,
  find: (text) => scan(TOKEN, text, accept),
};
