import type { Db, Tx } from "../store/client.js";
import type { ApprovalRequest } from "../store/types.js";
import type { ApprovalRequest as ApprovalRequestMessage } from "../../proto/gen/agentgate/v1/approval_pb.js";
import type { AdminDeps } from "../admin/deps.js";
import { commitChange } from "../admin/commit.js";
import { writeAudit } from "../admin/change-log.js";
import { bumpSnapshotVersion } from "../store/snapshot-version.js";
import { CpError, orNotFound } from "../errors.js";
import { pageArgs, toPage, type Page, type PageRequest } from "../admin/page.js";
import { approvalOf } from "../admin/policy-rules.js";
import type { Principal } from "../auth/principal.js";
import { resolveDecider } from "./decider.js";
import { enqueueApprovalNotification } from "../notifications/notifier.js";
import { log } from "../../common/observability/log.js";

/** What a proxy files when a run needs a reviewer (parameters already masked): the gRPC message's fields. */
export type ApprovalInput = Omit<ApprovalRequestMessage, "$typeName" | "$unknown">;

const DEFAULT_GRANT_TTL_SECONDS = 3_600;
/** How long a request may wait for a reviewer: an approval days later would grant a run its requester no longer expects. */
export const DEFAULT_APPROVAL_REQUEST_TTL_SECONDS = 86_400;

/**
 * Marks requests pending for longer than `ttlSeconds` expired (one statement). Run before
 * every read or decision of pending requests, so an old request is never listed as
 * pending, never approved and never handed back to a retrying caller.
 */
export async function expireStaleApprovals(db: Db | Tx, now: Date, ttlSeconds = DEFAULT_APPROVAL_REQUEST_TTL_SECONDS): Promise<number> {
  const { count } = await db.approvalRequest.updateMany({
    where: { status: "pending", createdAt: { lte: new Date(now.getTime() - ttlSeconds * 1_000) } },
    data: { status: "expired", decidedAt: now },
  });
  return count;
}

/** A grant with uses left: unlimited (null) or at least one (a spent grant grants nothing). */
export const UNSPENT = { OR: [{ grantUsesLeft: null }, { grantUsesLeft: { gt: 0 } }] };
const MAX_PARAMETERS = 64 * 1024;

/**
 * Files an approval request, or returns the one already open for the same identity,
 * connection, graph and operation (a caller retrying does not flood the reviewers), or an
 * approved grant still valid (the proxy's snapshot may not carry it yet).
 */
export async function requestApproval(db: Db, input: ApprovalInput, now = new Date(), ttlSeconds?: number): Promise<{ id: string; status: string }> {
  await expireStaleApprovals(db, now, ttlSeconds);
  const same = { requesterIssuer: input.issuer, requesterSubject: input.subject, connectionId: input.connectionId, graph: input.graph, operation: input.operation };
  const open = await db.approvalRequest.findFirst({
    where: { ...same, OR: [{ status: "pending" }, { status: "approved", grantExpiresAt: { gt: now }, ...UNSPENT }] },
    orderBy: { createdAt: "desc" },
  });
  if (open) return { id: open.id, status: open.status };
  let parameters: unknown;
  try {
    parameters = input.parametersJson ? JSON.parse(input.parametersJson.slice(0, MAX_PARAMETERS)) : {};
  } catch {
    parameters = { text: input.parametersJson.slice(0, 4_096) };
  }
  const created = await db.approvalRequest.create({
    data: {
      ...same,
      requesterEmail: input.email || null,
      proxyId: input.proxyId,
      policyId: input.policyId || null,
      parameters: parameters as object,
      reason: input.reason.slice(0, 1_000) || null,
    },
  });
  // Announce it (policy approval.notifyUrl); the request stands even if queueing fails.
  await enqueueApprovalNotification(db, created).catch((err: unknown) => log.error("approval webhook not queued", { id: created.id, error: (err as Error).message }));
  return { id: created.id, status: created.status };
}

/** Approval requests, newest first, optionally by status. */
export async function listApprovals(db: Db, status: string | undefined, page: PageRequest, now = new Date(), ttlSeconds?: number): Promise<Page<ApprovalRequest>> {
  await expireStaleApprovals(db, now, ttlSeconds);
  const { idAfter, orderBy, take } = pageArgs(page, "desc");
  const rows = await db.approvalRequest.findMany({ where: { ...idAfter, ...(status ? { status } : {}) }, orderBy, take });
  return toPage(rows, page, (r) => r);
}

/**
 * Approves or denies a pending request, for a caller holding the approve scope:
 * - the deciding identity (for an API token: the one that minted it, see decider.ts) must
 *   hold one of the policy's approverRoles — no approver roles, nobody decides;
 * - it must not be the requester;
 * - the decision is ONE compare-and-set (pending → decided): of concurrent approve/deny
 *   calls exactly one wins, the others get CONFLICT and leave no audit row.
 * An approval becomes a grant (valid for the policy's grantTtlSeconds, default 1 h) that
 * reaches the proxies in the next snapshot: the version is bumped in the same transaction.
 */
export async function decideApproval(
  deps: AdminDeps,
  by: Principal,
  id: string,
  decision: "approved" | "denied",
  note: string | undefined,
  now = new Date(),
): Promise<ApprovalRequest> {
  await expireStaleApprovals(deps.db, now, deps.approvalRequestTtlSeconds);
  const committed = await commitChange(deps, by.actor, "policy", async (tx) => {
    const request = orNotFound(await tx.approvalRequest.findUnique({ where: { id } }), `approval request ${id}`);
    const decider = await resolveDecider(tx, by);
    if (decider.identity && decider.identity.issuer === request.requesterIssuer && decider.identity.subject === request.requesterSubject) {
      throw new CpError("FORBIDDEN", "nobody decides their own request (nor through a token they minted)");
    }
    const policy = request.policyId ? await tx.policy.findUnique({ where: { id: request.policyId }, select: { approval: true } }) : null;
    const rule = approvalOf(policy?.approval ?? {});
    if (!rule.approverRoles.some((r) => decider.roles.has(r))) {
      const needed = rule.approverRoles.length > 0 ? `one of the roles ${rule.approverRoles.join(", ")}` : "an approver role, and its policy names none";
      throw new CpError("FORBIDDEN", `deciding this request needs ${needed}`);
    }
    const ttl = rule.grantTtlSeconds > 0 ? rule.grantTtlSeconds : DEFAULT_GRANT_TTL_SECONDS;
    const data = {
      status: decision,
      reviewer: by.actor,
      reviewNote: note?.slice(0, 1_000) ?? null,
      decidedAt: now,
      ...(decision === "approved" ? { grantExpiresAt: new Date(now.getTime() + ttl * 1_000), grantUsesLeft: rule.grantUses > 0 ? rule.grantUses : null } : {}),
    };
    // Compare-and-set: only a still-pending request changes; a concurrent decision loses here.
    const won = await tx.approvalRequest.updateMany({ where: { id, status: "pending" }, data });
    if (won.count !== 1) {
      const status = (await tx.approvalRequest.findUnique({ where: { id }, select: { status: true } }))?.status ?? "gone";
      throw new CpError("CONFLICT", `approval request ${id} is already ${status}`);
    }
    const value = (await tx.approvalRequest.findUnique({ where: { id } }))!;
    return {
      value,
      audit: [{ action: `approval.${decision === "approved" ? "approve" : "deny"}`, target: `ApprovalRequest:${id}`, before: { status: "pending" }, after: { status: decision, grantExpiresAt: value.grantExpiresAt } }],
    };
  });
  return committed.value;
}

/** What spending one use of a grant gave: `granted` false when it is spent, expired, unknown or unlimited. */
export interface GrantUse {
  readonly granted: boolean;
  readonly usesLeft: number;
}

/**
 * Spends one use of a limited grant (policy approval.grantUses), for the proxy about to
 * forward a gated call: ONE conditional decrement, so of concurrent calls through any
 * number of proxies exactly `grantUses` get through. Each use is an audit row (actor: the
 * proxy). The use that spends the grant bumps the snapshot version in the same transaction,
 * so the grant leaves every proxy's snapshot; `onSpent` then publishes it.
 */
export async function consumeGrant(db: Db, use: { grantId: string; proxyId: string; requestId: string }, now = new Date()): Promise<GrantUse> {
  return db.$transaction(async (tx) => {
    const taken = await tx.approvalRequest.updateMany({
      where: { id: use.grantId, status: "approved", grantExpiresAt: { gt: now }, grantUsesLeft: { gt: 0 } },
      data: { grantUsesLeft: { decrement: 1 } },
    });
    if (taken.count !== 1) return { granted: false, usesLeft: 0 };
    const usesLeft = (await tx.approvalRequest.findUnique({ where: { id: use.grantId }, select: { grantUsesLeft: true } }))?.grantUsesLeft ?? 0;
    const version = usesLeft === 0 ? await bumpSnapshotVersion(tx) : null;
    await writeAudit(tx, `proxy:${use.proxyId}`, [{ action: "approval.grant.use", target: `ApprovalRequest:${use.grantId}`, before: { grantUsesLeft: usesLeft + 1 }, after: { grantUsesLeft: usesLeft, requestId: use.requestId } }], version);
    return { granted: true, usesLeft };
  });
}
