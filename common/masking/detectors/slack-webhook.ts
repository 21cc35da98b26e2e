import type { Detector } from "../types.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

// Incoming webhooks (services/T…/B…/secret) and workflow triggers (workflows/T…/A…/id/secret).
const WEBHOOK = /(?:https?:\/\/)?hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/_-]{20,160}/g;

/** Slack incoming-webhook and workflow URLs (the whole URL is the credential). */
export const slackWebhook: Detector = {
  name: "slack_webhook",
  mayMatch: (_text, shape) => (shape.literals & LITERAL.webhook) !== 0,
  find: (text) => scan(WEBHOOK, text),
};
