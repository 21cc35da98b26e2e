import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { HoldBack, DEFAULT_MAX_HOLD } from "./hold-back.js";
import { maskJson } from "./json.js";
import { SseParser, DEFAULT_MAX_EVENT_CHARS, type SseBlock, type SseField } from "./sse-parser.js";
import { maskText } from "./text.js";
import { getAt, messageChunksOf, setAt, type JsonPath, type MessageChunk } from "./token-events.js";

/** Tuning for one stream. */
export interface SseMaskerOptions {
  /** Most characters held back per streamed text (default 256). */
  maxHold?: number;
  /** Flush a message's held text when another message starts on the same event name (default true). */
  flushOnNewMessage?: boolean;
  /** Bound on one event's size in characters (default 16 Mi); exceeding it throws SseEventTooLargeError. */
  maxEventChars?: number;
  /** Observes every emitted event (masked data), e.g. to record the session. */
  onEvent?: (event: string, data: string) => void;
}

interface SlotState {
  readonly kind: "content" | "block" | "tool";
  readonly index: number;
  readonly path: JsonPath;
  readonly hold: HoldBack;
  /** Cumulative mode: masked text emitted so far, raw length consumed, and its last chars (append check). */
  masked: string;
  rawLength: number;
  rawTail: string;
}

interface MessageState {
  readonly event: string;
  readonly messageId: string;
  readonly cumulative: boolean;
  readonly fieldsPath: JsonPath;
  readonly slots: Map<string, SlotState>;
  /** Masked data of the message's last event, streamed pieces emptied: the shape of a synthesized event. */
  template: unknown;
}

type Json = Record<string, unknown>;
const RAW_TAIL = 32;
/** Messages streamed at once before the oldest is flushed (bounds memory when none ever ends). */
const MAX_OPEN_MESSAGES = 64;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Masks a server-sent-event stream incrementally: parses events across arbitrary chunk
 * boundaries, masks each event's `data` (JSON with maskJson, anything else with maskText),
 * and re-emits complete events. Only the current incomplete event is buffered.
 *
 * Chat messages streamed token by token (LangGraph `messages`, `messages/partial`,
 * `events`/on_chat_model_stream) go through a per-message HoldBack, so a secret split
 * across chunks is still masked. Held text is released in the chunk that ends the message
 * (finish/stop reason, chunk_position "last"), or — when the message ends otherwise (a
 * non-streaming event, another message on the same event name, end of stream) — in a
 * synthesized event of the same shape placed before the event that ended it. Synthesized
 * events carry no `id`.
 */
export class SseMasker {
  private readonly parser: SseParser;
  private readonly messages = new Map<string, MessageState>();
  private readonly maxHold: number;
  private readonly flushOnNewMessage: boolean;
  private readonly onEvent: ((event: string, data: string) => void) | undefined;

  constructor(
    private readonly profile: CompiledProfile,
    private readonly session: MaskSession,
    opts: SseMaskerOptions = {},
  ) {
    this.parser = new SseParser(opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS);
    this.maxHold = opts.maxHold ?? DEFAULT_MAX_HOLD;
    this.flushOnNewMessage = opts.flushOnNewMessage ?? true;
    this.onEvent = opts.onEvent;
  }

  /** Feeds a chunk of the upstream stream; returns the masked events it completed (maybe ""). */
  push(chunk: Uint8Array | string): string {
    let out = "";
    for (const block of this.parser.push(chunk)) out += this.block(block);
    return out;
  }

  /** Ends the stream: emits an unterminated last event and every held message tail. */
  end(): string {
    let out = "";
    for (const block of this.parser.end()) out += this.block(block);
    return out + this.flushMessages(undefined, undefined);
  }

  private block(block: SseBlock): string {
    let event = "message";
    let data: string | undefined;
    for (const f of block.fields) {
      if (f.name === "event") event = f.value;
      else if (f.name === "data") data = data === undefined ? f.value : `${data}\n${f.value}`;
    }
    if (data === undefined) return this.serialize(block.fields, undefined, event); // comments, ids: no flush
    let parsed: unknown;
    let isJson = true;
    try {
      parsed = JSON.parse(data);
    } catch {
      isJson = false;
    }
    if (isJson) {
      const chunks = messageChunksOf(event, parsed);
      if (chunks !== null) return this.tokenEvent(block.fields, event, parsed, chunks);
      if (event.startsWith("messages/complete") && Array.isArray(parsed)) this.dropCompleted(event, parsed);
    }
    // Any other event ends the messages being streamed: release their tails first.
    const flushed = this.flushMessages(undefined, undefined);
    const masked = isJson ? JSON.stringify(maskJson(parsed, this.profile, this.session)) : maskText(data, this.profile, this.session);
    return flushed + this.serialize(block.fields, masked, event);
  }

  private tokenEvent(fields: readonly SseField[], event: string, data: unknown, chunks: MessageChunk[]): string {
    let out = "";
    if (this.flushOnNewMessage && this.messages.size > 0) out += this.flushMessages(event, chunks);
    // Streamed pieces go through their HoldBack; everything else through maskJson.
    for (const c of chunks) for (const s of c.slots) setAt(data, s.path, "");
    const masked = maskJson(data, this.profile, this.session);
    const states: Array<MessageState | undefined> = [];
    for (const c of chunks) {
      const key = `${event}\u0000${c.messageId}`;
      let st = this.messages.get(key);
      if (st === undefined) {
        if (this.messages.size >= MAX_OPEN_MESSAGES) out += this.flushOldest();
        st = { event, messageId: c.messageId, cumulative: c.cumulative, fieldsPath: c.fieldsPath, slots: new Map(), template: undefined };
        this.messages.set(key, st);
      }
      for (const s of c.slots) {
        if (getAt(masked, s.path) !== "") continue; // replaced whole by a key/path rule
        let slot = st.slots.get(s.key);
        if (slot === undefined) {
          slot = { kind: s.kind, index: s.index, path: s.path, hold: new HoldBack(this.profile, this.session, this.maxHold), masked: "", rawLength: 0, rawTail: "" };
          st.slots.set(s.key, slot);
        }
        let text = slot.hold.push(c.cumulative ? this.delta(slot, s.piece) : s.piece);
        if (c.final) text += slot.hold.flush();
        if (c.cumulative) text = slot.masked += text;
        setAt(masked, s.path, text);
      }
      if (c.final) {
        this.messages.delete(key);
        states.push(undefined);
      } else states.push(st);
    }
    out += this.serialize(fields, JSON.stringify(masked), event);
    // The emitted data (already serialised, so ours to reuse) becomes the synthesis template.
    for (let i = 0; i < chunks.length; i++) {
      const st = states[i];
      if (st === undefined) continue;
      if (!chunks[i]!.cumulative) neutralize(getAt(masked, chunks[i]!.fieldsPath));
      st.template = masked;
    }
    return out;
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
    for (const m of messages) if (isRecord(m) && typeof m.id === "string") this.messages.delete(`${partial}\u0000${m.id}`);
  }

  /**
   * Releases held tails as synthesized events: of every message, or — given an event name
   * and the chunks just received — of the other messages streamed under that name.
   */
  private flushMessages(event: string | undefined, current: readonly MessageChunk[] | undefined): string {
    let out = "";
    for (const [key, st] of this.messages) {
      if (event !== undefined && (st.event !== event || isCurrent(st.messageId, current!))) continue;
      this.messages.delete(key);
      out += this.synthesize(st);
    }
    return out;
  }

  private flushOldest(): string {
    const [key, st] = this.messages.entries().next().value as [string, MessageState];
    this.messages.delete(key);
    return this.synthesize(st);
  }

  private synthesize(st: MessageState): string {
    const tails: Array<[SlotState, string]> = [];
    for (const slot of st.slots.values()) {
      const text = slot.hold.flush();
      if (text !== "") tails.push([slot, text]);
    }
    if (tails.length === 0 || st.template === undefined) return "";
    const data = structuredClone(st.template);
    if (st.cumulative) {
      for (const [slot, text] of tails) setAt(data, slot.path, slot.masked + text);
    } else {
      const fields = getAt(data, st.fieldsPath);
      if (!isRecord(fields)) return "";
      for (const [slot, text] of tails) addPiece(fields, slot, text);
    }
    return this.serialize([{ name: "event", value: st.event }, { name: "data", value: "" }], JSON.stringify(data), st.event);
  }

  private serialize(fields: readonly SseField[], data: string | undefined, event: string): string {
    let out = "";
    let dataDone = false;
    for (const f of fields) {
      if (f.name === "data") {
        if (!dataDone && data !== undefined) {
          for (const line of data.split("\n")) out += `data: ${line}\n`;
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

function isCurrent(messageId: string, chunks: readonly MessageChunk[]): boolean {
  for (const c of chunks) if (c.messageId === messageId) return true;
  return false;
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

/** Puts one released tail into an empty chunk, in the place its kind belongs. */
function addPiece(fields: Json, slot: SlotState, text: string): void {
  switch (slot.kind) {
    case "content":
      fields.content = text;
      break;
    case "block":
      if (!Array.isArray(fields.content)) fields.content = [];
      (fields.content as unknown[]).push({ type: "text", text, index: slot.index });
      break;
    case "tool":
      if (!Array.isArray(fields.tool_call_chunks)) fields.tool_call_chunks = [];
      (fields.tool_call_chunks as unknown[]).push({ name: null, args: text, id: null, index: slot.index, type: "tool_call_chunk" });
      break;
  }
}
