import type { Detector, Span } from "../types.js";
import { isPlaceholderBody } from "../placeholder.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

// Each GitLab token family has a prefix and a documented body length (as detect-secrets
// encodes them): personal/deploy/feed/service-account/runner tokens 20–50, runner
// registration GR1348941 20–50, CI job 20–50, incoming mail 25, pipeline trigger 40, agent
// ≥50, OAuth application secret 64. Newer tokens may carry a ".<version>.<crc>" suffix.
const T = "[A-Za-z0-9_-]";
const TOKEN = new RegExp(
  "(?<![A-Za-z0-9_-])(?:" +
    [
      `(?:glpat|gldt|glft|glsoat|glrt|glffct|gltst)-(${T}{20,50})(?:\\.[A-Za-z0-9]{2}\\.[A-Za-z0-9]{9})?`,
      `GR1348941(${T}{20,50})`,
      `glcbt-(?:[0-9a-fA-F]{1,5}_)?(${T}{20,50})`,
      `glimt-(${T}{25})`,
      `glptt-(${T}{40})`,
      `glagent-(${T}{50,1024})`,
      `gloas-(${T}{64})`,
    ].join("|") +
    ")(?![A-Za-z0-9_-])",
  "g",
);

function accept(m: RegExpExecArray): Span | null {
  const body = m.slice(1).find((g) => g !== undefined) ?? "";
  return isPlaceholderBody(body.replace(/[-_]/g, "")) ? null : { start: m.index, end: m.index + m[0].length };
}

/** GitLab personal, deploy, runner, CI, trigger, agent and OAuth tokens. */
export const gitlabToken: Detector = {
  name: "gitlab_token",
  mayMatch: (_text, shape) => (shape.literals & LITERAL.gitlab) !== 0,
  find: (text) => scan(TOKEN, text, accept),
};
