/**
 * `slow`: a run that takes a while and costs tokens.
 *
 * After a `begin` update it emits one `updates` event per step (default
 * 5 steps × 200 ms; input `{ steps?, delay_ms? }`, clamped to SLOW_LIMITS),
 * then answers with an AI message carrying `usage_metadata` (SLOW_USAGE), as
 * cost accounting reads it from streams.
 */
import { Annotation, MessagesAnnotation, StateGraph } from "@langchain/langgraph";
import { SLOW_DEFAULTS, SLOW_LIMITS, SLOW_USAGE } from "../fixtures.js";
import { ScriptedChatModel } from "../scripted-model.js";

const SlowState = Annotation.Root({
  ...MessagesAnnotation.spec,
  steps: Annotation<number | undefined>,
  delay_ms: Annotation<number | undefined>,
  /** Steps done so far. */
  step: Annotation<number | undefined>,
});

type SlowStateType = typeof SlowState.State;

function clamp(value: unknown, fallback: number, max: number): number {
  const n = typeof value === "number" && Number.isFinite(value) ? Math.floor(value) : fallback;
  return Math.min(Math.max(n, 0), max);
}

const stepsOf = (s: SlowStateType) => clamp(s.steps, SLOW_DEFAULTS.steps, SLOW_LIMITS.steps);
const delayOf = (s: SlowStateType) => clamp(s.delay_ms, SLOW_DEFAULTS.delay_ms, SLOW_LIMITS.delay_ms);

/** The compiled `slow` graph referenced by `langgraph.json`. */
export const graph = new StateGraph(SlowState)
  // Reset the counter: on a thread, the previous run's `step` is still there.
  .addNode("begin", () => ({ step: 0 }))
  .addNode("tick", async (state) => {
    await new Promise((resolve) => setTimeout(resolve, delayOf(state)));
    return { step: (state.step ?? 0) + 1 };
  })
  .addNode("answer", async (state) => {
    const model = new ScriptedChatModel({
      chunks: ["Done ", "after ", `${state.step ?? 0} steps.`],
      usage: { ...SLOW_USAGE },
    });
    return { messages: [await model.invoke(state.messages)] };
  })
  .addEdge("__start__", "begin")
  .addConditionalEdges("begin", (s) => (stepsOf(s) > 0 ? "tick" : "answer"), ["tick", "answer"])
  .addConditionalEdges("tick", (s) => ((s.step ?? 0) < stepsOf(s) ? "tick" : "answer"), ["tick", "answer"])
  .addEdge("answer", "__end__")
  .compile();

graph.name = "slow";
