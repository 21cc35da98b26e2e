/**
 * fast-check generator of LangGraph SSE streams carrying split secrets (see sse-stream.test.ts
 * and test/e2e/masking-shapes.test.ts), and the client-side reassembly of their logical texts,
 * written independently of the masker. Secrets come from generators of every built-in class
 * and from the shared corpus (read in place, never copied) when it is there.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { defaultProfile } from "../profile.js";
import { MaskSession } from "../session.js";
import { maskText } from "../text.js";
import { SseParser } from "../sse-parser.js";
import { filler, secret } from "./secrets.js";

const profile = defaultProfile();
type Json = Record<string, unknown>;

// ------------------------------------------------------------------ secrets

export const CORPUS = fileURLToPath(new URL("../../../../shared/corpora/masking/corpus.jsonl", import.meta.url));
/** Corpus positives the engine masks when the text is whole (those are what streaming must keep masking). */
export const corpusCases: Array<{ text: string; secret: string }> = existsSync(CORPUS)
  ? readFileSync(CORPUS, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { text: string; secret: string | null; expect: string })
      .filter((c) => c.expect === "mask" && c.secret !== null && c.text.length < 600)
      .map((c) => ({ text: c.text, secret: c.secret! }))
      .filter((c) => !maskText(c.text, profile, new MaskSession()).includes(c.secret))
  : [];

const generated = fc.tuple(filler, secret, filler).map(([a, s, b]) => ({ text: `${a} ${s} ${b}`, secret: s }));
const planted = corpusCases.length > 0 ? fc.oneof(generated, fc.constantFrom(...corpusCases)) : generated;

// ------------------------------------------------------------------ carriers (real LangGraph event shapes)

/** Where a logical text travels, and how a client puts it back together. */
const CARRIERS = [
  "content", // messages-tuple, AIMessageChunk.content string
  "text-block", // content: [{type: "text", text, index}]
  "thinking", // Anthropic-style {type: "thinking", thinking, index}
  "reasoning", // LangChain v1 {type: "reasoning", reasoning, index}
  "tool", // tool_call_chunks[].args, mirrored in tool_calls[].args and invalid_tool_calls[].args
  "reasoning-kw", // additional_kwargs.reasoning_content
  "events", // stream mode events: on_chat_model_stream
  "partial", // messages/partial (cumulative)
  "custom-string", // custom mode, data is a JSON string
  "custom-field", // custom mode, data is an object with a streamed field
] as const;
type Carrier = (typeof CARRIERS)[number];

export interface Logical {
  carrier: Carrier;
  id: string;
  ns: string;
  text: string;
  secret: string;
  pieces: string[];
  final: boolean;
}

/** The SSE event carrying piece `k` of a logical text (`soFar`: cumulative text for messages/partial). */
function eventFor(t: Logical, piece: string, soFar: string, last: boolean): string {
  const meta = last && t.final ? { finish_reason: "stop" } : {};
  const chunk = (fields: Json) => ({ id: t.id, type: "AIMessageChunk", content: "", tool_call_chunks: [], response_metadata: meta, ...fields });
  const tuple = (fields: Json) => sse(`messages${t.ns}`, [chunk(fields), { langgraph_node: `node-${t.id}`, run_id: "run" }]);
  switch (t.carrier) {
    case "content":
      return tuple({ content: piece });
    case "text-block":
      return tuple({ content: [{ type: "text", text: piece, index: 0 }] });
    case "thinking":
      return tuple({ content: [{ type: "thinking", thinking: piece, index: 0 }] });
    case "reasoning":
      return tuple({ content: [{ type: "reasoning", reasoning: piece, index: 1 }] });
    case "tool":
      return tuple({
        tool_call_chunks: [{ name: null, args: piece, id: null, index: 0, type: "tool_call_chunk" }],
        tool_calls: [{ name: "", args: { q: piece }, id: "", type: "tool_call" }],
        invalid_tool_calls: [{ name: null, args: piece, id: null, error: null, type: "invalid_tool_call" }],
      });
    case "reasoning-kw":
      return tuple({ additional_kwargs: { reasoning_content: piece } });
    case "events":
      return sse(`events${t.ns}`, { event: "on_chat_model_stream", run_id: t.id, data: { chunk: chunk({ content: piece }) } });
    case "partial":
      return sse(`messages/partial${t.ns}`, [{ id: t.id, type: "ai", content: soFar + piece }]);
    case "custom-string":
      return sse(`custom${t.ns}`, piece);
    case "custom-field":
      return sse(`custom${t.ns}`, { delta: piece, step: 1 });
  }
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** Events that belong to no logical text of the test: they must never release held text. */
const NOISE = [
  sse("metadata", { run_id: "run", attempt: 1 }),
  sse("values", { messages: [{ type: "human", content: "hello" }] }),
  sse("updates", { other_node: { status: "done" } }),
  sse("updates|sub:1", { inner: { n: 3 } }),
  sse("debug", { type: "task", payload: { name: "x" } }),
  sse("messages", [{ id: "noise", type: "AIMessageChunk", content: "unrelated words ", tool_call_chunks: [] }, { langgraph_node: "z" }]),
  sse("messages", [{ id: "whole", type: "tool", content: "a tool said hi" }, {}]),
  sse("custom|noise", { note: "unrelated" }),
  ": keep-alive\n\n",
];

// ------------------------------------------------------------------ client reassembly (independent of the masker)

export interface Out {
  event: string;
  data: unknown;
}

/** Parses masker output back into events (what a client sees). */
export function parse(out: string): Out[] {
  const p = new SseParser();
  return [...p.push(out), ...p.end()].flatMap((b) => {
    const event = b.fields.find((f) => f.name === "event")?.value ?? "message";
    const raw = b.fields.filter((f) => f.name === "data").map((f) => f.value);
    return raw.length === 0 ? [] : [{ event, data: JSON.parse(raw.join("\n")) as unknown }];
  });
}

/** What a client reconstructs for each field of a logical text (all of them must be clean). */
export function reassemble(t: Logical, events: Out[]): string[] {
  const texts = new Map<string, string>();
  const add = (k: string, v: unknown) => {
    if (typeof v === "string") texts.set(k, (texts.get(k) ?? "") + v);
  };
  for (const { event, data } of events) {
    if (t.carrier === "partial") {
      if (event === `messages/partial${t.ns}`) for (const m of data as Json[]) if (m.id === t.id) texts.set("content", m.content as string);
      continue;
    }
    if (t.carrier.startsWith("custom")) {
      if (event !== `custom${t.ns}`) continue;
      if (typeof data === "string") add("string", data);
      else add("delta", (data as Json).delta);
      continue;
    }
    let chunk: Json | undefined;
    if (t.carrier === "events" && event === `events${t.ns}`) chunk = ((data as Json).data as Json).chunk as Json;
    else if (event === `messages${t.ns}`) chunk = (data as Json[])[0];
    if (chunk === undefined || chunk.id !== t.id) continue;
    if (typeof chunk.content === "string") add("content", chunk.content);
    else for (const b of chunk.content as Json[]) for (const [k, v] of Object.entries(b)) if (k !== "type" && k !== "index") add(`block${String(b.index)}.${k}`, v);
    for (const c of (chunk.tool_call_chunks as Json[] | undefined) ?? []) add(`tcc${String(c.index)}`, c.args);
    ((chunk.tool_calls as Json[] | undefined) ?? []).forEach((c, j) => add(`tc${j}`, (c.args as Json).q));
    ((chunk.invalid_tool_calls as Json[] | undefined) ?? []).forEach((c, j) => add(`itc${j}`, c.args));
    add("reasoning_content", (chunk.additional_kwargs as Json | undefined)?.reasoning_content);
  }
  return [...texts.values()];
}

// ------------------------------------------------------------------ the stream generator

function cut(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  return [0, ...points].map((p, i, all) => text.slice(p, all[i + 1] ?? text.length)).filter((p, i) => p !== "" || i === 0);
}

const logical = fc
  .record({
    carrier: fc.constantFrom(...CARRIERS),
    ns: fc.constantFrom("", "|sub:1", "|tools:abc"),
    planted,
    cuts: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
    final: fc.boolean(),
  })
  .map(({ carrier, ns, planted: p, cuts, final }) => ({ carrier, ns, text: p.text, secret: p.secret, cuts, final }));

/** A random stream: its logical texts, its bytes, and where to cut them into chunks. */
export const stream = fc
  .record({
    texts: fc.array(logical, { minLength: 1, maxLength: 3 }),
    order: fc.array(fc.nat(), { maxLength: 40 }),
    noise: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...NOISE)), { maxLength: 6 }),
    byteCuts: fc.array(fc.nat(), { maxLength: 8 }),
  })
  .map(({ texts, order, noise, byteCuts }) => {
    // Custom channels are per event name: one custom text per namespace and shape.
    const seen = new Set<string>();
    const ls: Logical[] = texts
      .map((t, i) => ({ ...t, id: `msg-${i}`, pieces: cut(t.text, t.cuts) }))
      .filter((t) => !t.carrier.startsWith("custom") || (!seen.has(t.ns) && seen.add(t.ns)));
    // Interleave the texts' pieces in a random order, with unrelated events in between.
    const next = ls.map(() => 0);
    const soFar = ls.map(() => "");
    const events: string[] = [];
    let step = 0;
    const noiseAt = new Map(noise.map(([at, ev]) => [at % 12, ev]));
    while (next.some((n, i) => n < ls[i]!.pieces.length)) {
      const live = ls.map((_, i) => i).filter((i) => next[i]! < ls[i]!.pieces.length);
      const i = live[(order[step] ?? step) % live.length]!;
      const t = ls[i]!;
      const k = next[i]!++;
      events.push(eventFor(t, t.pieces[k]!, soFar[i]!, k === t.pieces.length - 1));
      soFar[i] += t.pieces[k]!;
      const n = noiseAt.get(step++);
      if (n !== undefined) events.push(n);
    }
    return { ls, bytes: Buffer.from(events.join("")), byteCuts };
  });

