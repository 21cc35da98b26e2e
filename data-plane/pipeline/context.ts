import type { MaskBodyOptions } from "../../common/masking/body.js";
import type { BoundedMaskResult } from "../../common/masking/pool.js";
import type { CompiledConnection, CompiledPolicy, CompiledRule } from "../policy/compiled-policy.js";
import type { Decision } from "../policy/evaluate.js";
import type { RouteMatch } from "../../common/langgraph/routes.js";
import type { UpstreamPools } from "../upstream/pools.js";
import type { LRUCache } from "lru-cache";
import type { Reason } from "../policy/reasons.js";
import type { Verifier, VerifiedIdentity } from "../../common/identity/verifier.js";
import type { Limiter } from "../limits/limiter.js";
import type { ApprovalClient } from "../sync/approval-client.js";
import type { UsageTracker } from "../limits/usage.js";
import type { RunTracker } from "../limits/run-tracker.js";
import type { OwnerTags } from "../langgraph/owner-tag.js";
import type { CancelSignal } from "./hang-up.js";

/** The caller's request, copied once from node's IncomingMessage (habit 7: copy before any await). */
export interface GatewayRequest {
  readonly id: string;
  readonly method: string;
  /** Path after the optional `/c/{connection}` prefix, percent-encoded as received. */
  readonly rawPath: string;
  readonly pathname: string;
  readonly search: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly startedAt: number;
  readonly connectionName: string | undefined;
}

export type { VerifiedIdentity };

/** Masks one event stream, chunk by chunk, in order (BoundedSseMasker); rejects when an event could not be masked within bounds. */
export interface StreamMasker {
  push(chunk: Buffer): Promise<string>;
  end(): Promise<string>;
}

/** Masks one exchange; holds the per-session pseudonym key and the counts by rule. */
export interface BodyMasker {
  /** `source`: the JSON text `value` was parsed from, so rounded integers are judged by their written digits. */
  maskJson(value: unknown, source?: string): unknown;
  maskText(text: string): string;
  /** An incremental SSE masker for one response stream (large events masked by the pool: fail closed); `onEvent` sees each masked event. */
  sse(onEvent?: (event: string, data: string) => void): StreamMasker;
  counts(): Record<string, number>;
  /** The profile lets response bodies that cannot be inspected through (default: refused, 502). */
  readonly passUninspectable: boolean;
  /**
   * maskBody with the event loop bounded (masking/pool.ts): large bodies are masked by the
   * worker pool; `bound` when that did not finish within its bounds (refuse: fail closed);
   * `keepClean`: `untouched` when masking changed nothing (relay the original bytes).
   */
  maskBodyBounded(body: Uint8Array | string, contentType: string | undefined, opts: MaskBodyOptions, keepClean: boolean): Promise<BoundedMaskResult>;
}

/** Everything a proxy derives from one snapshot, swapped in whole. */
export interface ProxyState {
  readonly policy: CompiledPolicy;
  readonly verifier: Verifier;
  /** A fresh masker for one exchange under a policy (its profile, or the default one). */
  /** A fresh masker for one exchange; pseudonyms are shared with the other exchanges of `at.threadId`. */
  maskerFor(rule: CompiledRule | undefined, at?: { threadId?: string | undefined; identity?: string | undefined }): BodyMasker;
}

/** Long-lived services shared by all requests of a proxy. */
export interface ProxyServices {
  readonly proxyId: string;
  readonly pools: UpstreamPools;
  readonly assistantGraphs: LRUCache<string, string>;
  readonly maxBodyBytes: number;
  readonly defaultConnection: string | undefined;
  readonly limiter: Limiter;
  /** Follows background runs to their end upstream (their slots and reservations are held meanwhile). */
  readonly runTracker: RunTracker;
  readonly approvals: ApprovalClient;
}

/** Fields gathered along the pipeline for the session record. */
export interface RecordDraft {
  decision: "allow" | "deny";
  reasons: Reason[];
  status: number;
  errorCode: string;
  requestJson: string;
  /** The request's query string, masked ("" or "?…"); recorded after the path. */
  query: string;
  responseJson: string;
  events: Array<{ offsetMs: number; event: string; data: string }>;
  bytesIn: number;
  bytesOut: number;
  cost: number;
  maskCounts: Record<string, number>;
}

/** The per-request context: read-only request and snapshot, plus each stage's outputs. */
export interface RequestContext {
  readonly req: GatewayRequest;
  readonly state: ProxyState;
  readonly services: ProxyServices;
  /** Aborted when the client goes away: cancels the upstream request (see hang-up.ts). */
  readonly signal: CancelSignal;
  connection?: CompiledConnection;
  identity?: VerifiedIdentity;
  route?: RouteMatch;
  /** The parsed JSON request body, when the route has one. */
  json?: Record<string, unknown>;
  /** The text `json` was parsed from (integers beyond 2^53 keep their exact digits only here). */
  jsonText?: string;
  assistantId?: string;
  graph?: string;
  threadId?: string;
  runId?: string;
  /** The run this exchange created upstream, from the upstream's answer (ids checked as UUIDs). */
  startedRun?: { runId: string; threadId?: string };
  /** The caller's owner tags (HMAC, gateway key): `current` is written, `owns` checks any generation. */
  owner?: OwnerTags;
  /** The caller's store scope label (store routes only), put in front of every namespace. */
  storeScope?: string;
  /** The query string sent upstream when the gateway rewrote it (store namespaces). */
  outboundSearch?: string;
  /** The caller's newest owner tag, written into the metadata of what it creates. */
  ownerTag?: string;
  /** Owner tag of the thread the request targets ("" when untagged). */
  threadOwner?: string;
  decision?: Extract<Decision, { allow: true }>;
  /** Masker of this exchange (one pseudonym key for request and response). */
  masker?: BodyMasker;
  /** The body sent upstream (after ownership injection and masking). */
  outboundBody?: Buffer;
  /** Model tokens reported in the response (usage_metadata), counted once per message. */
  readonly usage: UsageTracker;
  /** Functions run when the exchange ends (release concurrency slots, settle costs). */
  readonly cleanups: Array<() => void | Promise<void>>;
  readonly record: RecordDraft;
  /**
   * Makes the session record durable (spool + fsync). Whoever completes the response calls
   * it just BEFORE the last byte, so a call the client saw complete is always recorded.
   * Idempotent; rejects when the record cannot be stored (the response is then cut).
   */
  readonly commitRecord: () => Promise<void>;
  /**
   * Called by forward() just before the request leaves for the upstream: a state-changing
   * exchange is written ahead (recording/intent-journal.ts) so a proxy crash cannot leave its
   * upstream effect unrecorded. Rejects when that cannot be made durable (nothing is forwarded).
   * Undefined when the exchange needs no write-ahead (reads): nothing to wait for.
   */
  readonly beforeForward: () => Promise<void> | undefined;
}

/** The exchange's masker: the granting policy's profile, or the default one before authorization. */
export function maskerOf(ctx: RequestContext): BodyMasker {
  // The identity scope keys on issuer+subject (not the owner tag, which changes with its key generation).
  return (ctx.masker ??= ctx.state.maskerFor(ctx.decision?.rule, {
    threadId: ctx.threadId,
    identity: ctx.identity && `${ctx.identity.issuer}\u0000${ctx.identity.subject}`,
  }));
}
