import type { Detector, Span } from "../types.js";
import { isPlaceholderBody } from "../placeholder.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

const TOKEN = new RegExp(
  "(?<![A-Za-z0-9])(?:" +
    // configuration access / refresh tokens: fixed long base62 body
    "xoxe\\.xox[bp]-\\d-[A-Za-z0-9]{146,180}|xoxe-\\d-[A-Za-z0-9]{140,180}" +
    // bot, user, app-level, legacy tokens: dash-separated id segments, then a secret
    "|(?:xox[abposr]|xapp)((?:-[A-Za-z0-9]{1,20}){1,5}-[A-Za-z0-9/+]{8,100})" +
    ")(?![A-Za-z0-9/+-])",
  "g",
);

/**
 * Segmented tokens carry numeric (or hex) ids before the secret: every id segment has a
 * digit, ids are not repeated (`1234-1234-1234`) and the secret mixes letters and digits.
 * Word-like placeholders (`xoxb-my-bot-token`, `xoxe.xoxp-1-RANDOMSTRINGHERE`) fail.
 */
function accept(m: RegExpExecArray): Span | null {
  const whole = { start: m.index, end: m.index + m[0].length };
  if (m[1] === undefined) return isPlaceholderBody(m[0].slice(m[0].lastIndexOf("-") + 1)) ? null : whole;
  const segments = m[1].slice(1).split("-");
  const secret = segments.pop()!;
  if (segments.some((s) => !/\d/.test(s)) || new Set(segments).size !== segments.length) return null;
  if (!/\d/.test(secret) || !/[A-Za-z]/.test(secret) || isPlaceholderBody(secret)) return null;
  return whole;
}

/** Slack bot, user, app, legacy, configuration and refresh tokens. */
export const slackToken: Detector = {
  name: "slack_token",
  mayMatch: (_text, shape) => (shape.literals & LITERAL.slack) !== 0,
  find: (text) => scan(TOKEN, text, accept),
};
