/**
 * The stream masker's template path (SseMasker option `templates`, on by default) must emit
 * exactly what the whole JSON path emits: same bytes, same events, same session counts, for
 * any stream. Streams here are dense in secrets, cut at every boundary, with the shapes that
 * must make a template miss: changed metadata, escapes and raw newlines in pieces,
 * non-canonical JSON, strings equal to the piece elsewhere, parallel messages on one event
 * name, final chunks, key rules, stream eviction.
 */
import fc from "fast-check";
import { compileProfile, defaultProfile, type CompiledProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { SseMasker, type SseMaskerOptions } from "./sse.js";
import { stream } from "./testing/streams.js";
import { filler, secret } from "./testing/secrets.js";

const profile = defaultProfile();
const KEY = new Uint8Array(32).fill(7); // both paths pseudonymise under one key
const RUNS = Number(process.env.FC_RUNS ?? 300);
const keyed = compileProfile([{ kind: "key", match: "langgraph_node", style: "redact" }, { kind: "detector", match: "email", style: "pseudonym" }, { kind: "detector", match: "credit_card", style: "partial" }]);

function run(chunks: Array<string | Uint8Array>, templates: boolean, p: CompiledProfile = profile, opts: SseMaskerOptions = {}): { out: string; counts: unknown; hits: number } {
  const session = new MaskSession(KEY);
  const m = new SseMasker(p, session, { ...opts, templates });
  let out = "";
  for (const c of chunks) out += m.push(c);
  out += m.end();
  return { out, counts: { ...session.counts }, hits: m.templateHits };
}

/** Both paths on the same input; returns how many events the template path took. */
function same(chunks: Array<string | Uint8Array>, p: CompiledProfile = profile, opts: SseMaskerOptions = {}): number {
  const slow = run(chunks, false, p, opts);
  const fast = run(chunks, true, p, opts);
  expect(fast.out).toBe(slow.out);
  expect(fast.counts).toEqual(slow.counts);
  expect(slow.hits).toBe(0);
  return fast.hits;
}

// ------------------------------------------------------------------ a dense stream generator

const dense = fc.array(fc.oneof(filler, secret, secret), { minLength: 1, maxLength: 12 }).map((parts) => parts.join(" "));

function pieces(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  return [0, ...points].map((p, i, all) => text.slice(p, all[i + 1] ?? text.length));
}

/** How one event of a message is written: LangGraph's shapes and the ones that must miss a template. */
const STYLES = ["tuple", "tuple", "tuple", "block", "events", "kwargs", "meta-change", "two-slots", "spaced", "escaped", "final", "sentinel-like"] as const;
type Style = (typeof STYLES)[number];

function eventOf(style: Style, id: string, piece: string, step: number, ns: string): string {
  const chunk = (fields: Record<string, unknown>) => ({ content: "", additional_kwargs: {}, response_metadata: {}, type: "AIMessageChunk", name: null, id, tool_calls: [], invalid_tool_calls: [], usage_metadata: null, tool_call_chunks: [], ...fields });
  const meta = { langgraph_node: "agent", langgraph_step: 1, run_id: "run-1" };
  const line = (event: string, data: unknown) => `event: ${event}${ns}\ndata: ${JSON.stringify(data)}\n\n`;
  switch (style) {
    case "tuple":
      return line("messages", [chunk({ content: piece }), meta]);
    case "block":
      return line("messages", [chunk({ content: [{ type: "text", text: piece, index: 0 }] }), meta]);
    case "events":
      return line("events", { event: "on_chat_model_stream", run_id: id, data: { chunk: chunk({ content: piece }) } });
    case "kwargs":
      return line("messages", [chunk({ additional_kwargs: { reasoning_content: piece } }), meta]);
    case "meta-change":
      return line("messages", [chunk({ content: piece }), { ...meta, langgraph_step: step }]);
    case "two-slots":
      // two streamed texts: never a template, but it changes the stream (its synthesis shape, its held text)
      return line("messages", [chunk({ content: piece, name: `n${step}`, additional_kwargs: { reasoning_content: piece } }), { ...meta, langgraph_step: step }]);
    case "spaced":
      return `event: messages${ns}\ndata: ${JSON.stringify([chunk({ content: piece }), meta], null, 1).replace(/\n/g, " ")}\n\n`;
    case "escaped":
      // the same value with every character of the piece escaped: a template must decode it
      return line("messages", [chunk({ content: "\u0000" }), meta]).replace('"\\u0000"', `"${[...piece].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}"`);
    case "final":
      return line("messages", [chunk({ content: piece, response_metadata: { finish_reason: "stop" } }), meta]);
    case "sentinel-like":
      return line("messages", [chunk({ content: piece, name: piece }), meta]);
  }
}

const messages = fc.record({
  texts: fc.array(fc.record({ text: dense, cuts: fc.array(fc.nat(), { maxLength: 30 }), styles: fc.array(fc.constantFrom(...STYLES), { minLength: 1, maxLength: 30 }), ns: fc.constantFrom("", "|sub:1") }), { minLength: 1, maxLength: 3 }),
  order: fc.array(fc.nat(), { maxLength: 60 }),
  byteCuts: fc.array(fc.nat(), { maxLength: 6 }),
  quirks: fc.array(fc.constantFrom('"quote"', "back\\slash", "new\nline", "tab\t", "é ü 😀", "\u2028", "\ud800"), { maxLength: 3 }),
});

function streamOf({ texts, order, quirks }: { texts: Array<{ text: string; cuts: number[]; styles: Style[]; ns: string }>; order: number[]; quirks: string[] }): string {
  const all = texts.map((t, i) => ({ id: `m${i}`, ns: t.ns, styles: t.styles, pieces: pieces(quirks.length > 0 ? `${t.text} ${quirks.join(" ")}` : t.text, t.cuts) }));
  const next = all.map(() => 0);
  let out = "";
  for (let step = 0; next.some((n, i) => n < all[i]!.pieces.length); step++) {
    const live = all.map((_, i) => i).filter((i) => next[i]! < all[i]!.pieces.length);
    const i = live[(order[step] ?? 0) % live.length]!;
    const t = all[i]!;
    const k = next[i]!++;
    // mostly the stream's first style (templates hit), sometimes another one (they miss)
    const style = k % 5 === 4 ? t.styles[k % t.styles.length]! : t.styles[0]!;
    out += eventOf(style, t.id, t.pieces[k]!, step, t.ns);
  }
  return out;
}

const cutBytes = (bytes: Buffer, cuts: number[]) => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...points].map((p, i, all) => bytes.subarray(p, all[i + 1] ?? bytes.length));
};

describe("SseMasker templates: the same output as the whole JSON path", () => {
  it("on dense LangGraph token streams (every secret class, interleaved messages, escapes, changed metadata, byte cuts)", () => {
    let hits = 0;
    fc.assert(
      fc.property(messages, (m) => {
        const chunks = cutBytes(Buffer.from(streamOf(m)), m.byteCuts);
        hits += same(chunks);
        hits += same(chunks, keyed);
      }),
      { numRuns: RUNS },
    );
    expect(hits).toBeGreaterThan(2 * RUNS); // the template path is taken, not just the whole one
  });

  it("on the stream property's streams (every carrier, noise events, custom channels)", () => {
    let hits = 0;
    fc.assert(
      fc.property(stream, ({ bytes, byteCuts }) => {
        hits += same(cutBytes(bytes, byteCuts));
      }),
      { numRuns: RUNS },
    );
    expect(hits).toBeGreaterThan(RUNS / 2);
  });

  it("for a text dense in secrets cut at every boundary, one character per event, and under stream eviction", () => {
    const text = 'card 4111 1111 1111 1111, mail jane.doe@example.org, key ghp_Q7xkP2mVn9TzR4wLs8YbJ3hFc6GdK1aE5uN0 call +1 415 555 0132 "quoted" password: hunter22 done';
    const ev = (piece: string, id = "m") => eventOf("tuple", id, piece, 0, "");
    for (let i = 0; i <= text.length; i++) for (let j = i; j <= text.length; j += 7) expect(same([ev(text.slice(0, i)), ev(text.slice(i, j)), ev(text.slice(j))])).toBe(2);
    expect(same([...text].map((c) => ev(c)))).toBe(text.length - 1);
    // more messages than the stream bound: evicted streams' templates must not be used
    const many = Array.from({ length: 300 }, (_, k) => ev(`w${k} 4111 1111 `, `m${k % 260}`));
    same(many);
    same(many, profile, { maxHold: 8 });
    // evicted, then reopened by an event that is no template: the old template's stream is gone
    const others = Array.from({ length: 256 }, (_, k) => eventOf("tuple", `o${k}`, "w ", k, "|other"));
    const reopened = [ev("a b"), ev(" c d"), ...others, eventOf("two-slots", "m", "x 4111", 1, ""), ev(" 1111 1111 1111 f"), ev(" g")];
    expect(same(reopened)).toBe(2);
    // a message that ended and goes on under the same id
    const ended = [ev("a b"), ev(" c d"), eventOf("final", "m", " e 4111", 0, ""), eventOf("two-slots", "m", "x 4111", 1, ""), ev(" 1111 1111 1111 f"), ev(" g")];
    expect(same(ended)).toBeGreaterThan(0);
  });

  it("when masking the rest of an event is not idempotent (its masked form is not a template of the upstream's)", () => {
    // a custom regex that matches its own replacement: masking "[REDACTED:agent]" again changes it
    const p = compileProfile([{ kind: "regex", match: "agent", style: "redact", label: "agent" }]);
    const node = (n: string, piece: string) => `event: messages\ndata: ${JSON.stringify([{ content: piece, id: "m", type: "AIMessageChunk" }, { langgraph_node: n }])}\n\n`;
    same([node("agent", "a b"), node("[REDACTED:agent]", " c d"), node("[REDACTED:agent]", " e f")], p);
  });
});
