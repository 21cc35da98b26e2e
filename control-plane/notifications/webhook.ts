/**
 * Approval announcements as webhooks: a Slack-compatible JSON body (`text` + `blocks`, so a
 * Slack or Mattermost incoming webhook shows it as is) that also carries the request as
 * data, signed with HMAC-SHA256 so receivers can verify it came from this control plane.
 *
 * Signature: `x-agentgate-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
 * `x-agentgate-timestamp: <unix seconds>`; receivers recompute it over the raw body, compare
 * in constant time and reject old timestamps (replays).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-agentgate-signature";
export const TIMESTAMP_HEADER = "x-agentgate-timestamp";

/** The signature header's value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** What a receiver does: true only for our signature over exactly this body and timestamp. */
export function verifyWebhook(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return /^\d+$/.test(timestamp) && expected.length === given.length && timingSafeEqual(expected, given);
}

/** The fields of an approval request a message shows (all attacker-influenced: escaped). */
export interface AnnouncedRequest {
  readonly id: string;
  readonly requesterSubject: string;
  readonly requesterEmail: string | null;
  readonly graph: string;
  readonly operation: string;
  readonly reason: string | null;
  readonly createdAt: Date;
}

/** Slack mrkdwn control characters; a requester named `<!channel>` must not ping anyone. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").slice(0, 300);
}

/** The JSON body announcing `request`, linking to its console page. */
export function approvalMessage(request: AnnouncedRequest, link: string): Record<string, unknown> {
  const who = escapeMrkdwn(request.requesterEmail ?? request.requesterSubject);
  const what = `${escapeMrkdwn(request.operation)} on graph ${escapeMrkdwn(request.graph)}`;
  const text = `Approval needed: ${who} wants ${what}. Review: ${link}`;
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*Approval needed*\n${who} wants ${what}.${request.reason ? `\n${escapeMrkdwn(request.reason)}` : ""}` } },
      { type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Review" }, url: link }] },
    ],
    agentgate: {
      event: "approval.requested",
      approvalRequest: {
        id: request.id,
        requester: request.requesterEmail ?? request.requesterSubject,
        graph: request.graph,
        operation: request.operation,
        createdAt: request.createdAt.toISOString(),
        url: link,
      },
    },
  };
}
