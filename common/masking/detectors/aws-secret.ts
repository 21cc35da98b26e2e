import type { Detector, Span } from "../types.js";
import { isPlaceholderBody } from "../placeholder.js";
import { scan } from "./scan.js";

// Exactly 40 base64 characters as a whole token (secret access keys have no fixed prefix).
const SECRET = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])/g;
// Without a prefix the value alone is ambiguous: require "aws" or "secret" shortly before.
const CONTEXT = /aws|secret/i;
const CONTEXT_WINDOW = 80;

function accept(m: RegExpExecArray, text: string): Span | null {
  const v = m[0];
  // Real keys mix upper, lower case and digits; 40 hex chars are SHA-1 digests.
  if (!/[a-z]/.test(v) || !/[A-Z]/.test(v) || !/\d/.test(v)) return null;
  if (isPlaceholderBody(v.replace(/EXAMPLE/g, ""))) return null;
  if (!CONTEXT.test(text.slice(Math.max(0, m.index - CONTEXT_WINDOW), m.index))) return null;
  return { start: m.index, end: m.index + v.length };
}

/** AWS secret access keys: 40 base64 characters near an "aws"/"secret" keyword. */
export const awsSecret: Detector = {
  name: "aws_secret",
  mayMatch: (text, shape) => shape.base64Run >= 40 && CONTEXT.test(text),
  // 40 characters without whitespace: after the whitespace at `from`
  mayEndAfter: (text, from) => text.length - from > 40,
  find: (text) => scan(SECRET, text, accept),
};
