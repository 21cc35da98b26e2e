/**
 * Delivers approval announcements from the ApprovalNotification table: each due row is
 * claimed (one compare-and-set, so two control-plane replicas never both send it), POSTed
 * with a signature, and then marked delivered, rescheduled with exponential backoff, or
 * failed after the last attempt. Rows are the queue: a restart loses nothing, and GraphQL
 * shows each request's deliveries (`ApprovalRequest.notifications`).
 */
import { log } from "../../common/observability/log.js";
import { approvalOf, webhookUrlProblem } from "../admin/policy-rules.js";
import type { Db } from "../store/client.js";
import type { ApprovalRequest } from "../store/types.js";
import { approvalMessage, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./webhook.js";

export interface NotifierOptions {
  readonly db: Db;
  /** AGENTGATE_WEBHOOK_SECRET; without it nothing is sent (never unsigned): rows fail visibly. */
  readonly secret: string | undefined;
  /** Base URL of the console, for the link to the request's page. */
  readonly consoleUrl: () => string;
  readonly maxAttempts?: number;
  /** Delay before attempt n+1 after n failures; default 2^n s, at most 5 min. */
  readonly backoffMs?: (failures: number) => number;
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export interface Notifier {
  /** Sends what is due now; resolves with the number of rows handled. */
  runOnce(now?: Date): Promise<number>;
  stop(): void;
}

const DEFAULT_MAX_ATTEMPTS = 6;
const BATCH = 20;
/** A claimed row is not picked again for this long (the send's own timeout is shorter). */
const CLAIM_MS = 60_000;

export const defaultBackoffMs = (failures: number): number => Math.min(300_000, 1000 * 2 ** Math.max(0, failures - 1));

/** The console page of an approval request (the link of the notification and of the 428 answer). */
export function approvalPageUrl(consoleBase: string, id: string): string {
  return `${consoleBase.replace(/\/+$/, "")}/console/approvals/${encodeURIComponent(id)}`;
}

/** Queues the announcement of a new request if its policy names a webhook. */
export async function enqueueApprovalNotification(db: Db, request: ApprovalRequest): Promise<void> {
  if (!request.policyId) return;
  const policy = await db.policy.findUnique({ where: { id: request.policyId }, select: { approval: true } });
  const url = approvalOf(policy?.approval).notifyUrl;
  if (!url || webhookUrlProblem(url)) return;
  await db.approvalNotification.create({ data: { approvalRequestId: request.id, url } });
}

export function startNotifier(opts: NotifierOptions): Notifier {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const backoff = opts.backoffMs ?? defaultBackoffMs;
  let running: Promise<number> | undefined;

  async function send(url: string, body: string): Promise<{ status?: number; error?: string }> {
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(url, {
        method: "POST",
        // Redirects are not followed: the admin vetted this URL, not wherever it points to.
        redirect: "manual",
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
        headers: { "content-type": "application/json", "user-agent": "agentgate-webhook/1", [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signWebhook(opts.secret!, timestamp, body) },
        body,
      });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 300 ? { status: res.status } : { status: res.status, error: `HTTP ${res.status}` };
    } catch (err) {
      return { error: (err as Error).name === "TimeoutError" ? "timed out" : "connection failed" };
    }
  }

  async function deliver(row: { id: string; url: string; attempts: number; approvalRequestId: string }, now: Date): Promise<void> {
    // Claim: only the caller that moves `attempts` on sends this attempt.
    const claimed = await opts.db.approvalNotification.updateMany({
      where: { id: row.id, attempts: row.attempts, status: "pending" },
      data: { attempts: row.attempts + 1, nextAttemptAt: new Date(now.getTime() + CLAIM_MS) },
    });
    if (claimed.count === 0) return;
    const attempt = row.attempts + 1;
    const request = await opts.db.approvalRequest.findUnique({ where: { id: row.approvalRequestId } });
    const outcome = !request
      ? { error: "approval request no longer exists" }
      : !opts.secret
        ? { error: "AGENTGATE_WEBHOOK_SECRET is not set: not sent unsigned" }
        : await send(row.url, JSON.stringify(approvalMessage(request, approvalPageUrl(opts.consoleUrl(), request.id))));
    const final = !outcome.error || !request || !opts.secret || attempt >= maxAttempts;
    await opts.db.approvalNotification.update({
      where: { id: row.id },
      data: {
        status: !outcome.error ? "delivered" : final ? "failed" : "pending",
        lastStatus: "status" in outcome ? outcome.status ?? null : null,
        lastError: outcome.error ?? null,
        ...(outcome.error ? {} : { deliveredAt: new Date() }),
        nextAttemptAt: new Date(now.getTime() + (final ? 0 : backoff(attempt))),
      },
    });
    if (outcome.error) log.warn("approval webhook not delivered", { notification: row.id, attempt, final, error: outcome.error });
  }

  async function runOnce(now = new Date()): Promise<number> {
    const due = await opts.db.approvalNotification.findMany({
      where: { status: "pending", nextAttemptAt: { lte: now } },
      orderBy: { nextAttemptAt: "asc" },
      take: BATCH,
      select: { id: true, url: true, attempts: true, approvalRequestId: true },
    });
    await Promise.all(due.map((row) => deliver(row, now)));
    return due.length;
  }

  const timer = setInterval(() => {
    running ??= runOnce()
      .catch((err: unknown) => {
        log.error("approval webhooks failed", { error: (err as Error).message });
        return 0;
      })
      .finally(() => (running = undefined));
  }, opts.pollMs ?? 1_000);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
