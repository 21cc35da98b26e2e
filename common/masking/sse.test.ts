import { compileProfile, defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { SseMasker, type SseMaskerOptions } from "./sse.js";
import { SseParser } from "./sse-parser.js";

const profile = defaultProfile();
type Chunk = Record<string, unknown>;

/** A messages-tuple event carrying one AIMessageChunk. */
const tuple = (content: unknown, extra: Chunk = {}, id = "run-1") =>
  `event: messages\ndata: ${JSON.stringify([{ content, id, type: "AIMessageChunk", tool_call_chunks: [], response_metadata: {}, ...extra }, { langgraph_node: "agent" }])}\n\n`;

function run(chunks: Array<string | Uint8Array>, opts?: SseMaskerOptions): string {
  const m = new SseMasker(profile, new MaskSession(), opts);
  return chunks.map((c) => m.push(c)).join("") + m.end();
}

function events(out: string): Array<{ event: string; data: unknown; fields: string[] }> {
  const p = new SseParser();
  return [...p.push(out), ...p.end()].map((b) => {
    const event = b.fields.find((f) => f.name === "event")?.value ?? "message";
    const raw = b.fields.filter((f) => f.name === "data").map((f) => f.value).join("\n");
    let data: unknown = raw;
    try {
      data = JSON.parse(raw);
    } catch {
      /* text */
    }
    return { event, data, fields: b.fields.map((f) => f.name) };
  });
}

/** Concatenated content of one message across messages-tuple events. */
const messageText = (out: string, id = "run-1") =>
  events(out)
    .filter((e) => e.event === "messages" && (e.data as Chunk[])[0]!.id === id)
    .map((e) => (e.data as Chunk[])[0]!.content)
    .join("");

describe("SseMasker: events", () => {
  const STREAM =
    "event: metadata\ndata: {\"run_id\":\"r1\"}\n\n" +
    ": ping from 10.1.2.3\n\n" +
    "event: values\r\nid: 1\r\ndata: {\"messages\":[{\"type\":\"human\",\"content\":\"mail a@b.io\"}]}\r\n\r\n" +
    "event: updates\ndata: {\"agent\":{\"password\":\"hunter22\"}}\n\n" +
    "event: custom\ndata: plain text with a@b.io\ndata: second line\n\n";

  const EXPECTED =
    "event: metadata\ndata: {\"run_id\":\"r1\"}\n\n" +
    ": ping from [REDACTED:ip_address]\n\n" +
    "event: values\nid: 1\ndata: {\"messages\":[{\"type\":\"human\",\"content\":\"mail [REDACTED:email]\"}]}\n\n" +
    "event: updates\ndata: {\"agent\":{\"password\":\"[REDACTED:password]\"}}\n\n" +
    "event: custom\ndata: plain text with [REDACTED:email]\ndata: second \n\n" +
    // custom mode is streamed text: its last word is held until the channel ends
    "event: custom\ndata: line\n\n";

  it("masks JSON data structurally, text data and comments as text, and keeps ids", () => {
    expect(run([STREAM])).toBe(EXPECTED);
  });

  it("gives the same output for a split at every byte boundary", () => {
    const bytes = Buffer.from(STREAM);
    for (let i = 0; i <= bytes.length; i++) expect(run([bytes.subarray(0, i), bytes.subarray(i)])).toBe(EXPECTED);
  });

  it("reports each emitted event to onEvent", () => {
    const seen: Array<[string, string]> = [];
    run([STREAM], { onEvent: (e, d) => seen.push([e, d]) });
    expect(seen.map(([e]) => e)).toEqual(["metadata", "values", "updates", "custom", "custom"]);
    expect(seen.every(([, d]) => !d.includes("a@b.io") && !d.includes("hunter22"))).toBe(true);
  });

  it("emits the unterminated last event at end()", () => {
    const m = new SseMasker(profile, new MaskSession());
    expect(m.push("event: end\ndata: mail a@b.io")).toBe("");
    expect(m.end()).toBe("event: end\ndata: mail [REDACTED:email]\n\n");
  });
});

describe("SseMasker: token streaming", () => {
  it("masks a card split over three chunks and flushes the tail at end()", () => {
    const out = run([tuple("Your card is 4111 1111"), tuple(" 1111 "), tuple("1111")]);
    expect(out).not.toMatch(/1111/);
    expect(messageText(out)).toBe("Your card is [REDACTED:credit_card]");
    const last = events(out).at(-1)!;
    expect(last.event).toBe("messages");
    expect((last.data as Chunk[])[0]).toEqual({
      content: "[REDACTED:credit_card]",
      id: "run-1",
      type: "AIMessageChunk",
      tool_call_chunks: [],
      response_metadata: {},
    });
  });

  it("gives the same message text for a split of the stream at every byte boundary", () => {
    const stream = tuple("key: ghp_Q7xkP2mVn9T") + tuple("zR4wLs8YbJ3hFc6GdK1aE5uN0oW end");
    for (let i = 0; i <= stream.length; i++) {
      const out = run([stream.slice(0, i), stream.slice(i)]);
      expect(messageText(out)).toBe("key: [REDACTED:github_token] end");
    }
  });

  it("releases held text in the chunk that ends the message (finish_reason, chunk_position)", () => {
    for (const end of [{ response_metadata: { finish_reason: "stop" } }, { chunk_position: "last" }]) {
      const out = run([tuple("mail jane@exa"), tuple("mple.org", end)]);
      const evs = events(out);
      expect(evs).toHaveLength(2);
      expect(messageText(out)).toBe("mail [REDACTED:email]");
    }
  });

  it("never releases a held tail because of an unrelated event: other modes, nodes, messages, channels", () => {
    const out = run([
      tuple("call +1 415 555", {}, "a"),
      tuple("hi", {}, "b"),
      "event: updates\ndata: {\"other\":{}}\n\n",
      "event: values\ndata: {}\n\n",
      `event: custom\ndata: ${JSON.stringify({ step: "x" })}\n\n`,
      tuple(" 0132", {}, "a"),
    ]);
    expect(out).not.toContain("415 555");
    expect(messageText(out, "a")).toBe("call [REDACTED:phone]");
    expect(messageText(out, "b")).toBe("hi");
    const evs = events(out);
    // the tails come out at end(), after everything else, least recently streamed first
    expect(evs.map((e) => e.event)).toEqual(["messages", "messages", "updates", "values", "custom", "messages", "messages", "custom", "messages"]);
  });

  it("keeps interleaved messages apart", () => {
    const out = run([tuple("a@b", {}, "a"), tuple("x@y", {}, "b"), tuple(".io ", {}, "a"), tuple(".io ", {}, "b")]);
    expect(messageText(out, "a")).toBe("[REDACTED:email] ");
    expect(messageText(out, "b")).toBe("[REDACTED:email] ");
  });

  it("past 256 open messages closes the least recently streamed, replacing (never releasing) its held text", () => {
    const chunks = [tuple("card 4111 1111", {}, "old")];
    for (let i = 0; i < 256; i++) chunks.push(tuple(`word${i} tail`, {}, `m${i}`), ...(i === 100 ? [tuple(" more", {}, "old")] : []));
    chunks.push(tuple(" 1111 1111", {}, "old"));
    const out = run(chunks);
    // "old" was refreshed at i = 100, so m0 (not "old") was closed first
    expect(messageText(out, "m0")).toBe("word0 [REDACTED:stream-overflow]");
    expect(messageText(out, "old")).not.toMatch(/4111 1111 1111 1111/);
    const out2 = run([tuple("card 4111 1111", {}, "old"), ...Array.from({ length: 256 }, (_, i) => tuple(`w${i} x`, {}, `m${i}`)), tuple(" 1111 1111", {}, "old")]);
    expect(messageText(out2, "old").replace(/\s/g, "")).not.toContain("4111111111111111");
    expect(messageText(out2, "old")).toContain("[REDACTED:stream-overflow]");
  });

  it("holds custom-mode strings per JSON path, and releases them at end()", () => {
    const custom = (data: unknown) => `event: custom\ndata: ${JSON.stringify(data)}\n\n`;
    const out = run([custom({ delta: "mail jane@exa", n: 1 }), custom("plain jane@exa"), custom({ delta: "mple.org now", n: 2 }), custom("mple.org")]);
    expect(out).not.toContain("jane@");
    const evs = events(out).map((e) => e.data);
    const tokens = evs.filter((d): d is Chunk => typeof d === "object").map((d) => d.delta).join("");
    const plain = evs.filter((d): d is string => typeof d === "string").join("");
    expect(tokens).toBe("mail [REDACTED:email] now");
    expect(plain).toBe("plain [REDACTED:email]");
  });

  it("streams tool-call arguments and content blocks per index, synthesizing neutral chunks", () => {
    const tc = (args: string, extra: Chunk = {}) => ({ name: null, args, id: null, index: 0, type: "tool_call_chunk", ...extra });
    const out = run([
      tuple("", { tool_call_chunks: [tc('{"q": "pay 5555 5555', { name: "search", id: "call_1" })] }),
      tuple("", { tool_call_chunks: [tc(' 5555 4444"}')] }),
      tuple([{ type: "text", text: "mail bo", index: 1 }]),
      tuple([{ type: "text", text: "b@x.io", index: 1 }]),
    ]);
    expect(out).not.toMatch(/5555|bob@/);
    const evs = events(out).map((e) => (e.data as Chunk[])[0]!);
    const args = evs.flatMap((c) => (c.tool_call_chunks as Chunk[]).map((t) => t.args)).join("");
    expect(args).toBe('{"q": "pay [REDACTED:credit_card]"}');
    const names = evs.flatMap((c) => (c.tool_call_chunks as Chunk[]).map((t) => t.name)).filter(Boolean);
    expect(names).toEqual(["search"]); // a synthesized chunk never repeats the tool name
    const text = evs.flatMap((c) => (Array.isArray(c.content) ? (c.content as Chunk[]).map((b) => b.text) : [])).join("");
    expect(text).toBe("mail [REDACTED:email]");
  });

  it("handles messages/partial (cumulative content): no event ever shows part of the secret", () => {
    const partial = (content: string) => `event: messages/partial\ndata: ${JSON.stringify([{ content, id: "m", type: "ai" }])}\n\n`;
    const full = "Card: 4111 1111 1111 1111 ok";
    const chunks = [8, 14, 19, 24, full.length].map((n) => partial(full.slice(0, n)));
    chunks.push(`event: messages/complete\ndata: ${JSON.stringify([{ content: full, id: "m", type: "ai" }])}\n\n`);
    const out = run(chunks);
    expect(out).not.toMatch(/4111|1111/);
    const contents = events(out).map((e) => (e.data as Chunk[])[0]!.content as string);
    for (let i = 1; i < contents.length - 1; i++) expect(contents[i]!.startsWith(contents[i - 1]!)).toBe(true);
    expect(contents.at(-1)).toBe("Card: [REDACTED:credit_card] ok");
  });

  it("handles stream mode events (on_chat_model_stream, plain and lc-serialised chunks)", () => {
    const ev = (content: string, lc: boolean) => {
      const chunk = lc ? { lc: 1, type: "constructor", id: ["langchain_core", "messages", "AIMessageChunk"], kwargs: { content, id: "m" } } : { content, id: "m", type: "AIMessageChunk" };
      return `event: events\ndata: ${JSON.stringify({ event: "on_chat_model_stream", run_id: "r", data: { chunk } })}\n\n`;
    };
    for (const lc of [false, true]) {
      const out = run([ev("token sk-proj-Q7xkP2mVn9TzR4wLs8Yb", lc), ev("T3BlbkFJJ3hFc6GdK1aE5uN0oWqX1234 done", lc)]);
      expect(out).not.toMatch(/Q7xkP2|J3hFc6/);
      const text = events(out)
        .map((e) => (e.data as { data: { chunk: Chunk } }).data.chunk)
        .map((c) => (lc ? (c.kwargs as Chunk).content : c.content))
        .join("");
      expect(text).toBe("token [REDACTED:openai_key] done");
    }
  });

  it("whole messages in messages mode are masked as is (no hold-back)", () => {
    const tool = `event: messages\ndata: ${JSON.stringify([{ content: "found a@b.io", id: "t", type: "tool" }, {}])}\n\n`;
    expect(events(run([tool]))[0]!.data).toEqual([{ content: "found [REDACTED:email]", id: "t", type: "tool" }, {}]);
  });

  it("a key rule on the content replaces it whole, with no hold-back", () => {
    const p = compileProfile([{ kind: "key", match: "content", style: "redact" }]);
    const m = new SseMasker(p, new MaskSession());
    const out = m.push(tuple("anything")) + m.end();
    expect((events(out)[0]!.data as Chunk[])[0]!.content).toBe("[REDACTED:content]");
    expect(events(out)).toHaveLength(1);
  });
});
