import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { HoldBack, DEFAULT_MAX_HOLD, type HoldState } from "./hold-back.js";
import { maskJson } from "./json.js";
import { SseParser, DEFAULT_MAX_EVENT_CHARS, type SseBlock, type SseField } from "./sse-parser.js";
import { maskText } from "./text.js";
import { findSpans } from "./spans.js";
import {
  getAt,
  isCustomEvent,
  messageChunksOf,
  setAt,
  stringLeaves,
  type JsonPath,
  type MessageChunk,
  type SlotKind,
} from "./token-events.js";

/** Tuning for one stream. */
export interface SseMaskerOptions {
  /** Most characters held back per streamed text (default 256). */
  maxHold?: number;
  /** Bound on one event's size in characters (default 16 Mi); exceeding it throws SseEventTooLargeError. */
  maxEventChars?: number;
  /** Observes every emitted event (masked data), e.g. to record the session. */
  onEvent?: (event: string, data: string) => void;
  /** Streams open elsewhere (a worker masking one event sees only the streams it can touch: sse-bounded.ts). */
  otherOpen?: number;
  /**
   * Reuse the last event of a stream as a template for the next one when only its streamed
   * piece differs (default true). False runs every event through the whole JSON path: the
   * reference the template path is tested against (sse-fast.test.ts).
   */
  templates?: boolean;
}

/** One open stream's state as plain data, for a masking worker to continue it (sse-bounded.ts). */
export interface StreamSnapshot {
  readonly key: string;
  readonly event: string;
  readonly custom: boolean;
  readonly cumulative: boolean;
  readonly fieldsPath: JsonPath;
  readonly template: unknown;
  readonly slots: ReadonlyArray<{
    readonly key: string;
    readonly kind: SlotKind;
    readonly index: number;
    readonly rel: JsonPath;
    readonly fieldRel: JsonPath;
    readonly blockType: string | undefined;
    readonly hold: HoldState;
    readonly masked: string;
    readonly rawLength: number;
    readonly rawTail: string;
  }>;
}

interface SlotState {
  readonly kind: SlotKind;
  readonly index: number;
  /** Block kind: path inside the block; leaf kind: path inside the fields (custom: inside the data). */
  readonly rel: JsonPath;
  /** Path inside the chunk's fields object (cumulative mode rewrites it whole). */
  readonly fieldRel: JsonPath;
  readonly blockType: string | undefined;
  readonly hold: HoldBack;
  /** Cumulative mode: masked text emitted so far, raw length consumed, and its last chars (append check). */
  masked: string;
  rawLength: number;
  rawTail: string;
}

/** One logical stream: a chat message (by event name + message id) or a custom channel (by event name). */
interface StreamState {
  readonly event: string;
  readonly custom: boolean;
  readonly cumulative: boolean;
  readonly fieldsPath: JsonPath;
  /** One hold-back per logical text of the stream (content, block field, tool args, custom JSON path). */
  readonly slots: Map<string, SlotState>;
  /** Masked data of the stream's last event, streamed pieces emptied: the shape of a synthesized event. */
  template: unknown;
}

/**
 * A token event's serialisation cut around its one streamed piece: the next event of the same
 * stream that is byte-identical but for that piece (LangGraph repeats ids, metadata and
 * empty fields in every chunk) is masked by pushing the piece and re-joining the template,
 * without a JSON round trip. Built only when the event's data was the canonical compact JSON
 * of its parsed value and masking changed nothing but the piece (see tokenEvent), so the
 * result is byte for byte what the whole path emits for that event.
 */
interface EventTemplate {
  readonly key: string;
  readonly state: StreamState;
  readonly slot: SlotState;
  readonly prefix: string;
  readonly suffix: string;
  /** The synthesis template the whole path leaves after such an event (StreamState.template). */
  synth: unknown;
}

type Json = Record<string, unknown>;
const RAW_TAIL = 32;
/** Stands for the streamed piece while an event is serialised into a template (an exact-match search finds its JSON). */
const SENTINEL = "\udfff\u0000agentgate:piece\u0000\udfff";
const SENTINEL_JSON = JSON.stringify(SENTINEL);
/** Templates kept per event name (parallel messages of one node interleave on one event name). */
const MAX_TEMPLATES = 8;
/** Streams open at once before the least recently streamed is closed (bounds memory when none ever ends). */
const MAX_OPEN_STREAMS = 256;
/** What a forced close emits instead of held text that could be half a secret (fail closed). */
const OVERFLOW = "[REDACTED:stream-overflow]";
/** Path key of a custom event whose data is not JSON (the whole data is the text). */
const RAW = "\u0000raw";
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Masks a server-sent-event stream incrementally: parses events across arbitrary chunk
 * boundaries, masks each event's `data` (JSON with maskJson, anything else with maskText),
 * and re-emits complete events. Only the current incomplete event is buffered.
 *
 * Guarantee: for every logical text a client reassembles by concatenation — a chat
 * message's content, each field of each content block (text, thinking, reasoning…), each
 * tool call's argument string and their parsed views, each string leaf of a `custom`
 * channel — the concatenation of what is emitted never contains a match that the same
 * text, whole, would have masked. Each logical text has its own HoldBack, keyed by event
 * name (namespace included) + message id + field; an unrelated event (another mode, node,
 * message or channel) never releases it. Held text leaves in the chunk that ends its
 * message (finish/stop reason, chunk_position "last"), or at end of stream in a
 * synthesized event of the same shape (no `id`). When more than 256 streams are open the
 * least recently streamed is closed and its held text replaced by `[REDACTED:stream-overflow]`
 * (it could be half a secret whose rest comes later).
 */
export class SseMasker {
  private readonly parser: SseParser;
  private readonly streams = new Map<string, StreamState>();
  private readonly maxHold: number;
  private readonly onEvent: ((event: string, data: string) => void) | undefined;
  private readonly otherOpen: number;
  private readonly useTemplates: boolean;
  /** Per event name, the templates of its recently streamed messages, most recent first. */
  private readonly templates = new Map<string, EventTemplate[]>();
  /** Events masked from a template (tests and benches check the fast path is taken). */
  templateHits = 0;

  constructor(
    private readonly profile: CompiledProfile,
    private readonly session: MaskSession,
    opts: SseMaskerOptions = {},
  ) {
    this.parser = new SseParser(opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS);
    this.maxHold = opts.maxHold ?? DEFAULT_MAX_HOLD;
    this.onEvent = opts.onEvent;
    this.otherOpen = opts.otherOpen ?? 0;
    this.useTemplates = opts.templates ?? true;
  }

  /** Feeds a chunk of the upstream stream; returns the masked events it completed (maybe ""). */
  push(chunk: Uint8Array | string): string {
    let out = "";
    for (const block of this.parser.push(chunk)) out += this.maskBlock(block);
    return out;
  }

  /** Ends the stream: emits an unterminated last event and every held tail. */
  end(): string {
    let out = "";
    for (const block of this.parser.end()) out += this.maskBlock(block);
    return out + this.endStreams();
  }

  /** Releases every held tail (in synthesized events) and forgets every stream. */
  endStreams(): string {
    let out = "";
    for (const st of this.streams.values()) out += this.synthesize(st, false);
    this.streams.clear();
    return out;
  }

  /**
   * The state of the streams an event named `event` can touch — its own mode and namespace's
   * messages or custom channel, and for `messages/complete` the partial messages it ends —
   * taken out of this masker, for a worker to mask the event (sse-bounded.ts); `others` is how
   * many streams stay here. When half the stream bound is open, every stream goes: the worker
   * then always has one of its own to close when the bound is reached. No event: every stream.
   */
  takeStreams(event?: string): { streams: StreamSnapshot[]; others: number } {
    const every = event === undefined || this.streams.size >= MAX_OPEN_STREAMS / 2;
    const touched = (key: string) =>
      key === `c\u0000${event}` ||
      key.startsWith(`m\u0000${event}\u0000`) ||
      (event!.startsWith("messages/complete") && key.startsWith(`m\u0000${event!.replace("messages/complete", "messages/partial")}\u0000`));
    const streams: StreamSnapshot[] = [];
    for (const [key, st] of this.streams) {
      if (!every && !touched(key)) continue;
      this.streams.delete(key);
      streams.push({ ...st, key, slots: [...st.slots].map(([k, slot]) => ({ ...slot, key: k, hold: slot.hold.state() })) });
    }
    return { streams, others: this.streams.size };
  }

  /** Puts streams back (from takeStreams, as a worker left them), as the most recently streamed. */
  putStreams(streams: readonly StreamSnapshot[]): void {
    for (const { key, slots, ...st } of streams) {
      const state: StreamState = { ...st, slots: new Map() };
      for (const { key: k, hold, ...slot } of slots) {
        const hb = new HoldBack(this.profile, this.session, this.maxHold);
        hb.restore(hold);
        state.slots.set(k, { ...slot, hold: hb });
      }
      this.streams.delete(key);
      this.streams.set(key, state);
    }
  }

  /** Masks one parsed event block: the masked event(s) to emit (held tails of a closed stream first). */
  maskBlock(block: SseBlock): string {
    const event = eventNameOf(block);
    let data: string | undefined;
    for (const f of block.fields) if (f.name === "data") data = data === undefined ? f.value : `${data}\n${f.value}`;
    if (data === undefined) return this.serialize(block.fields, undefined, event); // comments, ids
    if (this.useTemplates) {
      const out = this.fromTemplate(block.fields, event, data);
      if (out !== undefined) return out;
    }
    let parsed: unknown;
    let isJson = true;
    try {
      parsed = JSON.parse(data);
    } catch {
      isJson = false;
    }
    if (isCustomEvent(event)) return this.customEvent(block.fields, event, isJson ? parsed : undefined, isJson ? undefined : data, data);
    if (isJson) {
      const chunks = messageChunksOf(event, parsed);
      if (chunks !== null) return this.tokenEvent(block.fields, event, parsed, chunks, data);
      if (event.startsWith("messages/complete") && Array.isArray(parsed)) this.dropCompleted(event, parsed);
    }
    // Whole values (values, updates, debug, whole messages…): masked as they are; they never
    // release another stream's held text.
    // integers JSON.parse rounded are judged by the digits in `data` (json.ts maskNumber)
    const masked = isJson ? JSON.stringify(maskJson(parsed, this.profile, this.session, findSpans, data)) : maskText(data, this.profile, this.session);
    return this.serialize(block.fields, masked, event);
  }

  /** Opens (or finds) a stream's state; closing the oldest when too many are open. */
  private open(key: string, make: () => StreamState): [StreamState, string] {
    const st = this.streams.get(key);
    if (st !== undefined) {
      // least recently streamed first: a message that ended without saying so is evicted before a live one
      this.streams.delete(key);
      this.streams.set(key, st);
      return [st, ""];
    }
    let out = "";
    if (this.streams.size > 0 && this.streams.size + this.otherOpen >= MAX_OPEN_STREAMS) {
      const [oldKey, oldest] = this.streams.entries().next().value as [string, StreamState];
      this.streams.delete(oldKey);
      out = this.synthesize(oldest, true);
    }
    const fresh = make();
    this.streams.set(key, fresh);
    return [fresh, out];
  }

  private slot(st: StreamState, key: string, kind: SlotKind, index: number, rel: JsonPath, fieldRel: JsonPath, blockType: string | undefined): SlotState {
    let slot = st.slots.get(key);
    if (slot === undefined) {
      slot = { kind, index, rel, fieldRel, blockType, hold: new HoldBack(this.profile, this.session, this.maxHold), masked: "", rawLength: 0, rawTail: "" };
      st.slots.set(key, slot);
    }
    return slot;
  }

  private tokenEvent(fields: readonly SseField[], event: string, data: unknown, chunks: MessageChunk[], raw: string): string {
    let out = "";
    // Streamed pieces go through their HoldBack; everything else through maskJson.
    for (const c of chunks) for (const s of c.slots) setAt(data, s.path, "");
    const masked = maskJson(data, this.profile, this.session, findSpans, raw);
    const states: Array<StreamState | undefined> = [];
    // one streamed piece in a message that goes on: the event may become its stream's template
    let candidate: { key: string; state: StreamState; slot: SlotState; path: JsonPath; piece: string; text: string } | undefined;
    for (const c of chunks) {
      const key = `m\u0000${event}\u0000${c.messageId}`;
      const [st, closed] = this.open(key, () => ({ event, custom: false, cumulative: c.cumulative, fieldsPath: c.fieldsPath, slots: new Map(), template: undefined }));
      out += closed;
      for (const s of c.slots) {
        if (getAt(masked, s.path) !== "") continue; // replaced whole by a key/path rule
        const slot = this.slot(st, s.key, s.kind, s.index, s.rel, s.path.slice(c.fieldsPath.length), s.blockType);
        let text = slot.hold.push(c.cumulative ? this.delta(slot, s.piece) : s.piece);
        if (c.final) text += slot.hold.flush();
        if (c.cumulative) text = slot.masked += text;
        setAt(masked, s.path, text);
        if (chunks.length === 1 && c.slots.length === 1 && !c.final && !c.cumulative) candidate = { key, state: st, slot, path: s.path, piece: s.piece, text };
      }
      if (c.final) {
        // The message ends here: texts it streamed earlier but not in this chunk end too.
        const present = new Set(c.slots.map((s) => s.key));
        const target = getAt(masked, c.fieldsPath);
        for (const [k, slot] of st.slots) {
          if (present.has(k)) continue;
          const text = slot.hold.flush();
          if (text === "" || !isRecord(target)) continue;
          if (c.cumulative) setAt(masked, [...c.fieldsPath, ...slot.fieldRel], slot.masked + text);
          else addPiece(target, slot, text);
        }
        this.streams.delete(key);
        states.push(undefined);
      } else states.push(st);
    }
    const built = candidate === undefined ? undefined : this.templated(event, raw, masked, candidate);
    out += this.serialize(fields, built === undefined ? JSON.stringify(masked) : built.json, event);
    // The emitted data (already serialised, so ours to reuse) becomes the synthesis template.
    for (let i = 0; i < chunks.length; i++) {
      const st = states[i];
      if (st === undefined) continue;
      if (!chunks[i]!.cumulative) neutralize(getAt(masked, chunks[i]!.fieldsPath));
      st.template = masked;
    }
    if (built?.template !== undefined) built.template.synth = masked;
    return out;
  }

  /**
   * Serialises a one-piece token event with the sentinel in the piece's place (one stringify,
   * the same bytes as stringifying it with the released text) and, when the upstream's data
   * was exactly that serialisation with its own piece in the place (canonical JSON, nothing
   * else masked), keeps the two sides as the stream's template for the next events.
   */
  private templated(event: string, raw: string, masked: unknown, c: { key: string; state: StreamState; slot: SlotState; path: JsonPath; piece: string; text: string }): { json: string; template?: EventTemplate } {
    setAt(masked, c.path, SENTINEL);
    const whole = JSON.stringify(masked);
    setAt(masked, c.path, c.text);
    const at = whole.indexOf(SENTINEL_JSON);
    if (at < 0 || whole.lastIndexOf(SENTINEL_JSON) !== at) return { json: JSON.stringify(masked) }; // the data has a string equal to the sentinel
    const prefix = whole.slice(0, at);
    const suffix = whole.slice(at + SENTINEL_JSON.length);
    const json = prefix + JSON.stringify(c.text) + suffix;
    const list = this.templates.get(event) ?? [];
    const kept = list.filter((t) => t.key !== c.key && this.streams.get(t.key) === t.state).slice(0, MAX_TEMPLATES - 1);
    if (raw.length !== prefix.length + suffix.length + JSON.stringify(c.piece).length || !raw.startsWith(prefix) || !raw.endsWith(suffix)) {
      this.templates.set(event, kept); // the stream's shape changed: its old template is gone
      return { json };
    }
    const template: EventTemplate = { key: c.key, state: c.state, slot: c.slot, prefix, suffix, synth: undefined };
    if (this.templates.size >= MAX_OPEN_STREAMS && !this.templates.has(event)) this.templates.clear(); // a cache: bounded, not exact
    this.templates.set(event, [template, ...kept]);
    return { json, template };
  }

  /**
   * The masked event when `data` is a template of its event name with another JSON string in
   * the piece's place (see EventTemplate), or undefined (the whole path then masks it).
   */
  private fromTemplate(fields: readonly SseField[], event: string, data: string): string | undefined {
    const list = this.templates.get(event);
    if (list === undefined) return undefined;
    for (const t of list) {
      const end = data.length - t.suffix.length;
      if (end < t.prefix.length + 2 || !data.startsWith(t.prefix) || !data.endsWith(t.suffix)) continue;
      const piece = jsonStringAt(data, t.prefix.length, end);
      if (piece === undefined || this.streams.get(t.key) !== t.state) continue;
      // as open(): the stream becomes the most recently streamed
      this.streams.delete(t.key);
      this.streams.set(t.key, t.state);
      t.state.template = t.synth; // what the whole path would leave: this event's shape, emptied
      this.templateHits++;
      return this.serialize(fields, t.prefix + JSON.stringify(t.slot.hold.push(piece)) + t.suffix, event);
    }
    return undefined;
  }

  /**
   * Stream mode `custom` carries whatever the graph writes; a client may concatenate any
   * string of it across events, so each string leaf (by JSON path, per event name) is held
   * back as one text. Non-JSON data is one text.
   */
  private customEvent(fields: readonly SseField[], event: string, parsed: unknown, raw: string | undefined, data: string): string {
    const [st, out] = this.open(`c\u0000${event}`, () => ({ event, custom: true, cumulative: false, fieldsPath: [], slots: new Map(), template: undefined }));
    if (raw !== undefined) {
      const text = this.slot(st, RAW, "leaf", 0, [], [], undefined).hold.push(raw);
      return out + this.serialize(fields, text, event);
    }
    if (typeof parsed === "string") {
      const text = this.slot(st, "", "leaf", 0, [], [], undefined).hold.push(parsed);
      return out + this.serialize(fields, JSON.stringify(text), event);
    }
    const leaves: Array<[JsonPath, string]> = [];
    stringLeaves(parsed, (rel, s) => leaves.push([rel, s]), false);
    for (const [rel] of leaves) setAt(parsed, rel, "");
    const masked = maskJson(parsed, this.profile, this.session, findSpans, data);
    const template = structuredClone(masked);
    for (const [rel, piece] of leaves) {
      if (getAt(masked, rel) !== "") continue; // replaced whole by a key/path rule (or its key was masked)
      setAt(masked, rel, this.slot(st, rel.join("\u0000"), "leaf", 0, rel, rel, undefined).hold.push(piece));
    }
    st.template = template;
    return out + this.serialize(fields, JSON.stringify(masked), event);
  }

  /** Cumulative mode: the new part of the text, or the whole text when it was not an append. */
  private delta(slot: SlotState, whole: string): string {
    const appended =
      whole.length >= slot.rawLength && whole.slice(slot.rawLength - slot.rawTail.length, slot.rawLength) === slot.rawTail;
    const piece = appended ? whole.slice(slot.rawLength) : whole;
    if (!appended) {
      slot.hold.reset(); // held text was never emitted; the new text replaces it
      slot.masked = "";
    }
    slot.rawLength = whole.length;
    slot.rawTail = whole.slice(-RAW_TAIL);
    return piece;
  }

  /** `messages/complete` supersedes the partial messages it completes: their state is dropped. */
  private dropCompleted(event: string, messages: unknown[]): void {
    const partial = event.replace("messages/complete", "messages/partial");
    for (const m of messages) if (isRecord(m) && typeof m.id === "string") this.streams.delete(`m\u0000${partial}\u0000${m.id}`);
  }

  /**
   * Releases a stream's held tails as one synthesized event of its shape; `overflow` (a
   * forced close) replaces each held tail instead, since it may be half a secret.
   */
  private synthesize(st: StreamState, overflow: boolean): string {
    const tails: Array<[SlotState, string]> = [];
    let out = "";
    for (const [key, slot] of st.slots) {
      let text: string;
      if (overflow) {
        text = slot.hold.idle ? "" : OVERFLOW;
        slot.hold.reset();
      } else text = slot.hold.flush();
      if (text === "") continue;
      // custom channels: non-JSON text and bare JSON strings are events of their own
      if (st.custom && (key === RAW || key === "")) out += this.synthetic(st.event, key === RAW ? text : JSON.stringify(text));
      else tails.push([slot, text]);
    }
    if (tails.length === 0 || st.template === undefined) return out;
    const data = structuredClone(st.template);
    if (st.custom) {
      for (const [slot, text] of tails) setAt(data, slot.rel, text);
    } else if (st.cumulative) {
      for (const [slot, text] of tails) setAt(data, [...st.fieldsPath, ...slot.fieldRel], slot.masked + text);
    } else {
      const fields = getAt(data, st.fieldsPath);
      if (!isRecord(fields)) return out;
      for (const [slot, text] of tails) addPiece(fields, slot, text);
    }
    return out + this.synthetic(st.event, JSON.stringify(data));
  }

  /** An event the masker adds (released tails): event name and data, no id. */
  private synthetic(event: string, data: string): string {
    return this.serialize([{ name: "event", value: event }, { name: "data", value: "" }], data, event);
  }

  private serialize(fields: readonly SseField[], data: string | undefined, event: string): string {
    let out = "";
    let dataDone = false;
    for (const f of fields) {
      if (f.name === "data") {
        if (!dataDone && data !== undefined) {
          if (data.indexOf("\n") < 0) out += `data: ${data}\n`; // JSON data is one line: no split array
          else for (const line of data.split("\n")) out += `data: ${line}\n`;
          dataDone = true;
        }
      } else if (f.name === "") out += `:${maskText(f.value, this.profile, this.session)}\n`;
      else if (f.name === "event" || f.name === "id" || f.name === "retry") out += `${f.name}: ${f.value}\n`;
      else out += `${f.name}: ${maskText(f.value, this.profile, this.session)}\n`;
    }
    if (data !== undefined) this.onEvent?.(event, data);
    return `${out}\n`;
  }
}

/** An event block's name (its last `event` field; "message" when it has none). */
export function eventNameOf(block: SseBlock): string {
  let event = "message";
  for (const f of block.fields) if (f.name === "event") event = f.value;
  return event;
}

/**
 * Turns a masked chunk into an empty one: clients concatenate chunk fields, so a
 * synthesized chunk must carry nothing but the released text (no repeated tool names,
 * ids, metadata or usage).
 */
function neutralize(fields: unknown): void {
  if (!isRecord(fields)) return;
  fields.content = typeof fields.content === "string" ? "" : [];
  for (const k of ["tool_call_chunks", "tool_calls", "invalid_tool_calls"]) if (k in fields) fields[k] = [];
  for (const k of ["additional_kwargs", "response_metadata"]) if (k in fields) fields[k] = {};
  if ("usage_metadata" in fields) fields.usage_metadata = null;
  if ("chunk_position" in fields) delete fields.chunk_position;
}

/** Puts one released tail into a chunk, in the place its kind belongs. */
function addPiece(fields: Json, slot: SlotState, text: string): void {
  switch (slot.kind) {
    case "content":
      if (Array.isArray(fields.content)) (fields.content as unknown[]).push({ type: "text", text });
      else fields.content = `${typeof fields.content === "string" ? fields.content : ""}${text}`;
      break;
    case "block": {
      if (!Array.isArray(fields.content)) fields.content = [];
      const blocks = fields.content as unknown[];
      let block = blocks.find((b) => isRecord(b) && b.index === slot.index) as Json | undefined;
      if (block === undefined) blocks.push((block = { type: slot.blockType ?? "text", index: slot.index }));
      setAtCreate(block, slot.rel, text);
      break;
    }
    case "tool":
      if (!Array.isArray(fields.tool_call_chunks)) fields.tool_call_chunks = [];
      (fields.tool_call_chunks as unknown[]).push({ name: null, args: text, id: null, index: slot.index, type: "tool_call_chunk" });
      break;
    case "leaf":
      // Parsed views inside lists (tool_calls[].args, invalid_tool_calls[].args) are not
      // rebuilt: their text reaches clients through tool_call_chunks. Plain fields are.
      if (slot.rel.every((k) => typeof k === "string")) setAtCreate(fields, slot.rel, text);
      break;
  }
}

/** Sets a string at `path`, creating objects/arrays on the way (appending to a string already there). */
function setAtCreate(root: Json, path: JsonPath, text: string): void {
  let v: Record<string | number, unknown> = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    let next = v[k];
    if (typeof next !== "object" || next === null) v[k] = next = typeof path[i + 1] === "number" ? [] : {};
    v = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  const prev = v[last];
  v[last] = typeof prev === "string" ? prev + text : text;
}

/**
 * The string that `text[from, to)` is the JSON literal of, or undefined when that range is not
 * exactly one JSON string literal. Hand-written for the common case (no escapes: a slice);
 * escapes go through JSON.parse.
 */
function jsonStringAt(text: string, from: number, to: number): string | undefined {
  if (text.charCodeAt(from) !== 0x22 || text.charCodeAt(to - 1) !== 0x22 || to - from < 2) return undefined;
  let escaped = false;
  for (let i = from + 1; i < to - 1; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c < 0x20) return undefined; // an unescaped quote ends the literal early; raw control characters are invalid
    if (c === 0x5c) {
      escaped = true;
      i++; // the escaped character (JSON.parse checks the escape)
    }
  }
  if (!escaped) return text.slice(from + 1, to - 1);
  try {
    const v: unknown = JSON.parse(text.slice(from, to));
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
