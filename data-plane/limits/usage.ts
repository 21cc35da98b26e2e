/**
 * Token usage read from LangGraph streamed events, and the cost of a run.
 *
 * LangGraph reports usage as `usage_metadata` ({input_tokens, output_tokens, total_tokens}) on AI
 * messages, and the same message shows up many times in one stream: once per `values` snapshot,
 * in `updates`, as streamed chunks in `messages` (messages-tuple), cumulatively in
 * `messages/partial`, and as `on_chat_model_end` output in `events` mode. A per-stream
 * {@link UsageTracker} charges each message id once:
 *   - chunks of one id (`messages` tuples) are summed: providers split usage across chunks
 *     (Anthropic sends input tokens first and output tokens last);
 *   - whole messages (every other mode) count their total once, whatever the repeats;
 *   - an id charged both ways counts max(sum of chunks, whole total), since the whole message is
 *     the concatenation of its chunks.
 * The first `values` (and legacy `messages/complete`) event of a namespace is the run's input
 * state, i.e. the thread's history and the caller's input: those messages were charged by earlier
 * runs (or were written by the caller), so they are recorded as never chargeable.
 *
 * Limits of what a stream can tell: a client that streams none of these modes (or uses
 * `runs/wait`) reveals no usage; `debug`/`checkpoints`/`tasks`/`custom` events are not read (they
 * repeat state, including history, without a reliable baseline); a message without an id is
 * recognised by its usage, type and content prefix, so two identical id-less messages count once.
 * A caller can only make its own count higher, never lower (baseline ids are caller-visible, but
 * new generations get fresh ids).
 */
import { checkCost } from "./validate.js";

/** What one message id has been charged from. */
interface MessageUsage {
  /** Sum over streamed chunks. */
  chunks: number;
  /** Largest total seen on a whole message. */
  whole: number;
  /** Already added to the tracker's total. */
  charged: number;
}

/** Per-stream memory for {@link extractTokenUsage}; make one per proxied stream. */
export interface UsageTracker {
  /** Tokens charged so far in this stream. */
  total: number;
  /** An event of a mode that reveals usage was seen: `total` is a reading, not just "nothing seen". */
  readable: boolean;
  /** Per message id (or fingerprint of an id-less message). */
  readonly messages: Map<string, MessageUsage>;
  /** Ids found in the run's input state: never charged. */
  readonly baseline: Set<string>;
  /** Snapshot event names (with namespace) already seen; the first of each is the input state. */
  readonly snapshotsSeen: Set<string>;
}

/** A fresh tracker for one stream. */
export function createUsageTracker(): UsageTracker {
  return { total: 0, readable: false, messages: new Map(), baseline: new Set(), snapshotsSeen: new Set() };
}

// Bounds on work per event and memory per stream: events are untrusted-size JSON on the hot path.
const MAX_DEPTH = 8;
const MAX_NODES = 10_000;
const MAX_TRACKED = 10_000;

type Charge = "chunk" | "whole" | "baseline";

/** How each stream mode's payload is read (built once at module load). */
const MODE_CHARGE: ReadonlyMap<string, Charge | "snapshot"> = new Map<string, Charge | "snapshot">([
  ["messages", "chunk"],
  ["messages-tuple", "chunk"],
  ["messages/partial", "whole"],
  ["messages/complete", "snapshot"],
  ["values", "snapshot"],
  ["updates", "whole"],
]);

/**
 * Tokens newly found in one SSE event (`eventName` as sent, e.g. `values` or `updates|sub:1`),
 * counting each message once across the stream recorded in `tracker` (also added to
 * `tracker.total`). Without a tracker, counts the event on its own.
 */
export function extractTokenUsage(eventName: string, data: unknown, tracker: UsageTracker = createUsageTracker()): number {
  const bar = eventName.indexOf("|");
  const mode = bar < 0 ? eventName : eventName.slice(0, bar);
  const before = tracker.total;
  if (mode === "events") {
    tracker.readable = true;
    // Only the model's final output: stream events repeat the history in their inputs.
    if (isRecord(data) && data["event"] === "on_chat_model_end" && isRecord(data["data"])) {
      visitMessages(data["data"]["output"], tracker, "whole");
    }
    return tracker.total - before;
  }
  let charge = MODE_CHARGE.get(mode);
  if (charge === undefined) return 0;
  tracker.readable = true;
  if (charge === "snapshot") {
    const first = !tracker.snapshotsSeen.has(eventName);
    tracker.snapshotsSeen.add(eventName);
    charge = first ? "baseline" : "whole";
  }
  // messages-tuple payloads are [chunk, metadata]; only the chunk carries usage.
  const payload = charge === "chunk" && Array.isArray(data) ? data[0] : data;
  visitMessages(payload, tracker, charge);
  return tracker.total - before;
}

/** Inputs of {@link costOf}; `costPerRun` is keyed by graph id, with `*` as the default. */
export interface CostInput {
  graph: string;
  costPerRun: Readonly<Record<string, number>>;
  costPer1kTokens: number;
  tokens: number;
}

/** Cost of one run: the graph's configured cost per run plus its tokens at `costPer1kTokens`. */
export function costOf({ graph, costPerRun, costPer1kTokens, tokens }: CostInput): number {
  // Own properties only: a graph named "constructor" must not read Object.prototype.
  const own = (name: string): number | undefined => (Object.hasOwn(costPerRun, name) ? costPerRun[name] : undefined);
  const perRun = own(graph) ?? own("*") ?? 0;
  checkCost("costPerRun", perRun);
  checkCost("costPer1kTokens", costPer1kTokens);
  checkCost("tokens", tokens);
  return perRun + (tokens / 1000) * costPer1kTokens;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0;
}

/** Total tokens of a usage_metadata object (total_tokens, else input + output). */
function tokensOf(usage: Record<string, unknown>): number {
  const total = usage["total_tokens"];
  if (typeof total === "number" && Number.isFinite(total)) return count(total);
  return count(usage["input_tokens"]) + count(usage["output_tokens"]);
}

/** The tracking key of a message: its id, or a fingerprint when it has none. */
function keyOf(msg: Record<string, unknown>, tokens: number): string {
  const id = msg["id"];
  if (typeof id === "string" && id !== "") return id;
  const content = msg["content"];
  const text = typeof content === "string" ? content : JSON.stringify(content ?? null);
  return `~${tokens}:${String(msg["type"])}:${text.slice(0, 64)}`;
}

/**
 * Walks `value` and charges every message carrying usage_metadata. Bounded in depth and in nodes
 * (counted as they are queued, so a huge array costs no more than the budget); array items are
 * visited last-first, because new messages are appended at the end of a long history.
 */
function visitMessages(value: unknown, tracker: UsageTracker, charge: Charge): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  let budget = MAX_NODES;
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== "object" || node === null || depth >= MAX_DEPTH) continue;
    if (Array.isArray(node)) {
      // Pushed in order so that pops see the newest items first; the oldest are cut when over budget.
      const from = Math.max(0, node.length - budget);
      budget -= node.length - from;
      for (let i = from; i < node.length; i++) stack.push([node[i], depth + 1]);
      continue;
    }
    const rec = node as Record<string, unknown>;
    const usage = rec["usage_metadata"];
    if (isRecord(usage)) {
      // A message: charge it and do not look inside (its metadata repeats provider usage).
      chargeMessage(tracker, rec, tokensOf(usage), charge);
      continue;
    }
    // Any other message (human, tool, AI without usage) holds no usage further down.
    if (typeof rec["type"] === "string" && "content" in rec) continue;
    // Covers {messages: [...]}, {node: {messages: [...]}} and the {lc, kwargs: {...}} serialisation.
    for (const key in rec) {
      if (budget-- <= 0) return;
      stack.push([rec[key], depth + 1]);
    }
  }
}

function chargeMessage(tracker: UsageTracker, msg: Record<string, unknown>, tokens: number, charge: Charge): void {
  const key = keyOf(msg, tokens);
  if (charge === "baseline") {
    if (tracker.baseline.size < MAX_TRACKED) tracker.baseline.add(key);
    return;
  }
  if (tracker.baseline.has(key)) return;
  let entry = tracker.messages.get(key);
  if (!entry) {
    if (tracker.messages.size >= MAX_TRACKED) return;
    entry = { chunks: 0, whole: 0, charged: 0 };
    tracker.messages.set(key, entry);
  }
  if (charge === "chunk") entry.chunks += tokens;
  else entry.whole = Math.max(entry.whole, tokens);
  const due = Math.max(entry.chunks, entry.whole) - entry.charged;
  if (due > 0) {
    entry.charged += due;
    tracker.total += due;
  }
}
