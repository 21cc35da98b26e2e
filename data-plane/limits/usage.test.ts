/** Token usage from LangGraph stream events: a recorded real stream, then a table of edge shapes; and costOf. */
import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { costOf, createUsageTracker, extractTokenUsage } from "./usage.js";

type Event = [string, unknown];
// Recorded from @langchain/langgraph-api's own streamState + serialiser (see "note" in the file).
const fixture = JSON.parse(readFileSync(new URL("./usage.fixture.json", import.meta.url), "utf8")) as Record<
  "run1" | "run2",
  Event[]
>;

/** Total charged for a stream the client opened with `modes` (events of other modes never reach the proxy). */
function charge(events: Event[], modes: string[]): number {
  const tracker = createUsageTracker();
  let sum = 0;
  for (const [name, data] of events) {
    const mode = name === "messages" ? "messages-tuple" : name;
    if (modes.includes(mode) || name === "metadata") sum += extractTokenUsage(name, data, tracker);
  }
  expect(tracker.total).toBe(sum);
  return sum;
}

describe("extractTokenUsage on a recorded LangGraph stream", () => {
  // run1: new thread, model sees 1 message: 11 input + 7 output. run2: same thread, model sees
  // 3 messages (33 input + 7 output); run1's answer (18) is history in run2's input state.
  const modeSets = [
    ["values"],
    ["updates"],
    ["messages-tuple"],
    ["events"],
    ["values", "updates"],
    ["values", "messages-tuple"],
    ["values", "updates", "messages-tuple", "events"],
  ];
  it.each(modeSets.map((m) => [m]))("stream_mode %j charges each generation once, history never", (modes) => {
    expect(charge(fixture.run1, modes)).toBe(18);
    expect(charge(fixture.run2, modes)).toBe(40);
  });
});

const usage = (input: number, output: number, total = input + output) => ({
  input_tokens: input,
  output_tokens: output,
  total_tokens: total,
});
const ai = (id: string | undefined, u: unknown, content = "ok") => ({ ...(id ? { id } : {}), type: "ai", content, usage_metadata: u });
const human = (id: string) => ({ id, type: "human", content: "hi" });

describe("extractTokenUsage edge shapes", () => {
  it.each<[string, Event[], number]>([
    ["Python-style AIMessageChunk tuples sum", [
      ["messages", [{ ...ai("m1", usage(10, 0)), type: "AIMessageChunk" }, { langgraph_node: "agent" }]],
      ["messages", [{ ...ai("m1", usage(0, 4)), type: "AIMessageChunk" }, { langgraph_node: "agent" }]],
    ], 14],
    ["subgraph events carry a namespace suffix", [
      ["updates|agent:1f0e", { model: { messages: [ai("s1", usage(3, 2))] } }],
      ["messages|agent:1f0e", [ai("s2", usage(1, 1)), {}]],
    ], 7],
    ["a subgraph's first values is its own input state", [
      ["values", { messages: [human("h")] }],
      ["values|sub:1", { messages: [ai("old", usage(50, 50))] }],
      ["values|sub:1", { messages: [ai("old", usage(50, 50)), ai("new", usage(5, 5))] }],
    ], 10],
    ["whole message larger than its chunks wins (no double count)", [
      ["messages", [ai("m", usage(0, 5)), {}]],
      ["updates", { agent: { messages: [ai("m", usage(20, 5))] } }],
      ["values", { messages: [] }],
      ["values", { messages: [ai("m", usage(20, 5))] }],
    ], 25],
    ["legacy messages/partial is cumulative", [
      ["messages/partial", [ai("p", usage(8, 1))]],
      ["messages/partial", [ai("p", usage(8, 6))]],
    ], 14],
    ["legacy messages/complete: first is the input state", [
      ["messages/complete", [human("h"), ai("hist", usage(100, 100))]],
      ["messages/complete", [ai("gen", usage(9, 1))]],
    ], 10],
    ["LangChain lc-constructor serialisation", [
      ["updates", { agent: { messages: [{ lc: 1, type: "constructor", id: ["langchain_core", "messages", "AIMessage"], kwargs: ai("lc1", usage(2, 3)) }] } }],
    ], 5],
    ["total_tokens missing: input + output", [["updates", { a: { messages: [ai("t", { input_tokens: 3, output_tokens: 4 })] } }]], 7],
    ["id-less messages count once across repeats", [
      ["updates", { a: { messages: [ai(undefined, usage(1, 2), "same")] } }],
      ["updates", { a: { messages: [ai(undefined, usage(1, 2), "same")] } }],
    ], 3],
    ["events mode reads only on_chat_model_end", [
      ["events", { event: "on_chat_model_stream", data: { chunk: ai("e", usage(4, 0)) } }],
      ["events", { event: "on_chain_end", data: { output: { messages: [ai("e", usage(4, 4))] } } }],
      ["events", { event: "on_chat_model_end", data: { output: ai("e", usage(4, 4)) } }],
    ], 8],
    ["ignores modes that repeat state or are user-defined", [
      ["metadata", { run_id: "r" }],
      ["debug", { type: "checkpoint", payload: { values: { messages: [ai("d", usage(9, 9))] } } }],
      ["checkpoints", { values: { messages: [ai("d", usage(9, 9))] } }],
      ["tasks", { input: { messages: [ai("d", usage(9, 9))] } }],
      ["custom", ai("d", usage(9, 9))],
      ["error", { error: "x", message: "y" }],
    ], 0],
    ["junk never throws and counts nothing", [
      ["values", null],
      ["values", "text"],
      ["updates", 42],
      ["updates", { a: { messages: [ai("n", { total_tokens: -5 }), ai("x", { total_tokens: Number.NaN }), ai("s", "lots")] } }],
      ["messages", []],
      ["messages", [null, {}]],
      ["events", { event: "on_chat_model_end" }],
    ], 0],
  ])("%s", (_name, events, expected) => {
    const tracker = createUsageTracker();
    for (const [name, data] of events) extractTokenUsage(name, data, tracker);
    expect(tracker.total).toBe(expected);
  });

  it("bounds the walk: nesting deeper than the limit is not read", () => {
    let deep: unknown = ai("deep", usage(1, 1));
    for (let i = 0; i < 20; i++) deep = { wrap: deep };
    expect(extractTokenUsage("updates", deep)).toBe(0);
  });

  it("bounds the walk: a huge event costs at most the node budget, newest messages first", () => {
    const history = Array.from({ length: 50_000 }, (_, i) => ai(`m${i}`, usage(1, 0)));
    history.push(ai("newest", usage(500, 500)));
    // Work is bounded by the node budget (asserted through what was reached, not by timing).
    const found = extractTokenUsage("updates", { a: { messages: history } });
    expect(found).toBeGreaterThan(1000); // the newest message was reached
    expect(found).toBeLessThan(1000 + 10_000);
  });

  it("finds the new message at the end of a long history in one values event", () => {
    const tracker = createUsageTracker();
    const history = Array.from({ length: 3_000 }, (_, i) => (i % 2 ? ai(`a${i}`, usage(10, 10)) : human(`h${i}`)));
    extractTokenUsage("values", { messages: history }, tracker);
    expect(extractTokenUsage("values", { messages: [...history, human("q"), ai("new", usage(7, 3))] }, tracker)).toBe(10);
  });

  it("without a tracker counts the one event", () => {
    expect(extractTokenUsage("updates", { a: { messages: [ai("x", usage(2, 2))] } })).toBe(4);
  });
});

describe("costOf", () => {
  it.each<[string, Parameters<typeof costOf>[0], number]>([
    ["per-run cost of the graph plus tokens", { graph: "agent", costPerRun: { agent: 0.5 }, costPer1kTokens: 0.002, tokens: 1500 }, 0.503],
    ["'*' is the default per-run cost", { graph: "other", costPerRun: { agent: 0.5, "*": 0.1 }, costPer1kTokens: 0, tokens: 10 }, 0.1],
    ["no per-run cost configured", { graph: "other", costPerRun: {}, costPer1kTokens: 1, tokens: 2000 }, 2],
    ["a graph named like an Object.prototype member", { graph: "constructor", costPerRun: {}, costPer1kTokens: 0, tokens: 0 }, 0],
  ])("%s", (_name, input, expected) => {
    expect(costOf(input)).toBeCloseTo(expected, 10);
  });

  it.each<Parameters<typeof costOf>[0]>([
    { graph: "g", costPerRun: { g: -1 }, costPer1kTokens: 0, tokens: 0 },
    { graph: "g", costPerRun: {}, costPer1kTokens: Number.NaN, tokens: 0 },
    { graph: "g", costPerRun: {}, costPer1kTokens: 1, tokens: -3 },
  ])("rejects bad configuration or input: %j", (input) => {
    expect(() => costOf(input)).toThrow(RangeError);
  });
});
