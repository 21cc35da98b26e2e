/**
 * Recognises LangGraph SSE events that carry one chat message in pieces, and where the
 * pieces are:
 *  - `messages` (stream mode messages-tuple): `data: [chunk, metadata]`, chunk a serialised
 *    AIMessageChunk (`type: "AIMessageChunk"` from the Python server, `type: "ai"` with
 *    `tool_call_chunks` from the JS server; or the `{lc: 1, kwargs: {…}}` form);
 *  - `messages/partial` (stream mode messages): `data: [message]`, the message accumulated
 *    so far (each event carries the whole text: cumulative);
 *  - `events` (stream mode events): `on_chat_model_stream` with `data.chunk`.
 * Subgraph events carry a `|namespace` suffix on the event name.
 * Pieces are `content` (a string, or every text field of content blocks by index: text,
 * thinking, reasoning…), `tool_call_chunks[i].args`, and the string leaves of `tool_calls`,
 * `invalid_tool_calls` and `additional_kwargs` (the same fragments, parsed or not).
 *
 * Stream mode `custom` carries whatever the graph writes: {@link customTextsOf} treats each
 * string leaf (by JSON path) as one streamed text.
 */

/** A path inside an event's parsed data. */
export type JsonPath = ReadonlyArray<string | number>;

/** How a streamed text is put back into a synthesized chunk (see SseMasker). */
export type SlotKind = "content" | "block" | "tool" | "leaf";

/** One streamed text inside a chunk. */
export interface StreamSlot {
  /**
   * Identity of the text within its message: "c" (content), "c<index>:<field path>" (a
   * content block's field: text, thinking, reasoning, summary parts…), "t<index>" (tool-call
   * chunk args), "<field>:<path>" (string leaves of tool_calls, invalid_tool_calls and
   * additional_kwargs, which clients may concatenate too).
   */
  readonly key: string;
  readonly kind: SlotKind;
  /** Block / tool-call index as the provider numbers it (merge key for clients). */
  readonly index: number;
  /** Where the piece sits in the event data. */
  readonly path: JsonPath;
  /** Block kind: the block's type and the field path inside the block; leaf kind: path inside the chunk's fields. */
  readonly blockType?: string;
  readonly rel: JsonPath;
  readonly piece: string;
}

/** A message chunk found in an event. */
export interface MessageChunk {
  readonly messageId: string;
  /** Path of the chunk's fields object (inside `kwargs` for the lc form). */
  readonly fieldsPath: JsonPath;
  readonly slots: readonly StreamSlot[];
  /** The chunk marks the end of its message (finish/stop reason, chunk_position "last"). */
  readonly final: boolean;
  /** The pieces are the whole text so far, not deltas (`messages/partial`). */
  readonly cumulative: boolean;
}

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Fields naming a block or call rather than carrying streamed text: never held back. */
const IDENTITY_FIELDS = new Set(["type", "index", "id", "name"]);
/** Chunk fields whose string leaves are streamed deltas besides content and tool_call_chunks. */
const LEAF_FIELDS = ["tool_calls", "invalid_tool_calls", "additional_kwargs"] as const;
/** Bound on the string leaves collected per field (hostile chunks stay cheap). */
const MAX_LEAVES = 256;

/** Containers of call arguments: inside them every key is data, none is an identity field. */
const PAYLOAD_FIELDS = new Set(["args", "input", "arguments"]);

/**
 * Calls `visit` for each string leaf under `v` with its path relative to `v`; identity
 * fields are skipped outside argument payloads. Bounded in depth and count.
 */
export function stringLeaves(v: unknown, visit: (rel: JsonPath, s: string) => void, skipIdentity = true): void {
  leavesOf(v, [], 0, !skipIdentity, visit, { n: MAX_LEAVES });
}

// A module function, not a closure per call (tsx names every closure it creates: measurable per SSE event).
function leavesOf(x: unknown, rel: Array<string | number>, depth: number, payload: boolean, visit: (rel: JsonPath, s: string) => void, budget: { n: number }): void {
  if (typeof x === "string") {
    if (budget.n-- > 0) visit(rel.slice(), x);
    return;
  }
  if (typeof x !== "object" || x === null || depth > 16) return;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      rel.push(i);
      leavesOf(x[i], rel, depth + 1, payload, visit, budget);
      rel.pop();
    }
    return;
  }
  for (const k of Object.keys(x)) {
    if (!payload && IDENTITY_FIELDS.has(k)) continue;
    rel.push(k);
    leavesOf((x as Json)[k], rel, depth + 1, payload || PAYLOAD_FIELDS.has(k), visit, budget);
    rel.pop();
  }
}

/** True for a serialised message chunk (as opposed to a whole message). */
function isChunk(fields: Json, lcId: unknown): boolean {
  const type = fields.type;
  if (typeof type === "string" && type.endsWith("Chunk")) return true;
  if (type === "ai" && Array.isArray(fields.tool_call_chunks)) return true;
  return Array.isArray(lcId) && typeof lcId[lcId.length - 1] === "string" && (lcId[lcId.length - 1] as string).endsWith("Chunk");
}

function chunkAt(obj: Json, path: JsonPath, fallbackId: string, cumulative: boolean, requireChunk: boolean): MessageChunk | null {
  let fields = obj;
  let fieldsPath = path;
  if (obj.lc === 1 && isRecord(obj.kwargs)) {
    fields = obj.kwargs;
    fieldsPath = [...path, "kwargs"];
  }
  if (requireChunk && !isChunk(fields, obj.id)) return null;
  const slots: StreamSlot[] = [];
  const content = fields.content;
  if (typeof content === "string") slots.push({ key: "c", kind: "content", index: 0, path: [...fieldsPath, "content"], rel: ["content"], piece: content });
  else if (Array.isArray(content)) {
    for (let j = 0; j < content.length; j++) {
      const block: unknown = content[j];
      if (!isRecord(block)) continue;
      const index = typeof block.index === "number" ? block.index : j;
      const blockType = typeof block.type === "string" ? block.type : "text";
      // Every text a block streams: text, thinking, reasoning, summary parts, partial tool input…
      stringLeaves(block, (rel, piece) =>
        slots.push({ key: `c${index}:${rel.join(".")}`, kind: "block", index, path: [...fieldsPath, "content", j, ...rel], blockType, rel, piece }),
      );
    }
  }
  const toolChunks = fields.tool_call_chunks;
  if (Array.isArray(toolChunks)) {
    for (let j = 0; j < toolChunks.length; j++) {
      const tc: unknown = toolChunks[j];
      if (!isRecord(tc) || typeof tc.args !== "string") continue;
      const index = typeof tc.index === "number" ? tc.index : j;
      slots.push({ key: `t${index}`, kind: "tool", index, path: [...fieldsPath, "tool_call_chunks", j, "args"], rel: [], piece: tc.args });
    }
  }
  // Parsed views of the same fragments (tool_calls[].args, invalid_tool_calls[].args) and
  // provider extras (additional_kwargs.reasoning_content…): each string leaf is its own text.
  for (const name of LEAF_FIELDS) {
    const v = fields[name];
    if (v === undefined) continue;
    stringLeaves(v, (rel, piece) =>
      slots.push({ key: `${name}:${rel.join(".")}`, kind: "leaf", index: 0, path: [...fieldsPath, name, ...rel], rel: [name, ...rel], piece }),
    );
  }
  const meta = isRecord(fields.response_metadata) ? fields.response_metadata : {};
  const final = Boolean(meta.finish_reason) || Boolean(meta.stop_reason) || fields.chunk_position === "last";
  const messageId = typeof fields.id === "string" ? fields.id : fallbackId;
  return { messageId, fieldsPath, slots, final, cumulative };
}

/** The message chunks an event carries, or null when it is not a token-streaming event. */
export function messageChunksOf(eventName: string, data: unknown): MessageChunk[] | null {
  const bar = eventName.indexOf("|");
  const base = bar < 0 ? eventName : eventName.slice(0, bar);
  if (base === "messages") {
    if (!Array.isArray(data) || !isRecord(data[0])) return null;
    const meta = isRecord(data[1]) ? data[1] : {};
    const c = chunkAt(data[0], [0], typeof meta.run_id === "string" ? meta.run_id : "", false, true);
    return c === null ? null : [c];
  }
  if (base === "messages/partial") {
    if (!Array.isArray(data)) return null;
    const out: MessageChunk[] = [];
    for (let i = 0; i < data.length; i++) {
      const m: unknown = data[i];
      const c = isRecord(m) ? chunkAt(m, [i], "", true, false) : null;
      if (c !== null) out.push(c);
    }
    return out.length > 0 ? out : null;
  }
  if (base === "events") {
    if (!isRecord(data) || data.event !== "on_chat_model_stream" || !isRecord(data.data) || !isRecord(data.data.chunk)) return null;
    const c = chunkAt(data.data.chunk, ["data", "chunk"], typeof data.run_id === "string" ? data.run_id : "", false, false);
    return c === null ? null : [c];
  }
  return null;
}

/** Reads the value at `path` (undefined when the path does not exist). */
export function getAt(root: unknown, path: JsonPath): unknown {
  let v = root;
  for (const k of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/** Sets the value at `path` in an object the caller owns; false when the path does not exist. */
export function setAt(root: unknown, path: JsonPath, value: unknown): boolean {
  let v = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (typeof v !== "object" || v === null) return false;
    v = (v as Record<string | number, unknown>)[path[i]!];
  }
  if (typeof v !== "object" || v === null) return false;
  (v as Record<string | number, unknown>)[path[path.length - 1]!] = value;
  return true;
}

/** True for events of stream mode `custom` (any namespace). */
export function isCustomEvent(eventName: string): boolean {
  return eventName === "custom" || eventName.startsWith("custom|");
}
