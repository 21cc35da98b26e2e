import type { Detector } from "../types.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

// Project, service-account, admin and user keys embed "T3BlbkFJ" (base64 of "OpenAI")
// between two random halves; legacy keys are "sk-" + 48 base62 characters.
const KEY =
  /(?<![A-Za-z0-9_-])sk-(?:[A-Za-z0-9_-]{1,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}|[A-Za-z0-9]{48})(?![A-Za-z0-9_-])/g;

/** OpenAI API keys (legacy, project, service-account and admin keys). */
export const openaiKey: Detector = {
  name: "openai_key",
  mayMatch: (_text, shape) => (shape.literals & LITERAL.skDash) !== 0,
  find: (text) => scan(KEY, text),
};
