/**
 * `leaky`: a graph that leaks every kind of secret the gateway must mask.
 *
 * It returns the planted secrets as JSON (`leaked`) and answers with an AI
 * message streamed token by token in which a card number is split across
 * three chunks (see `LEAKY_STREAM_CHUNKS` in ../fixtures.ts).
 */
import { Annotation, MessagesAnnotation, StateGraph } from "@langchain/langgraph";
import { LEAKY_RECORD, LEAKY_STREAM_CHUNKS } from "../fixtures.js";
import { ScriptedChatModel } from "../scripted-model.js";

const LeakyState = Annotation.Root({
  ...MessagesAnnotation.spec,
  leaked: Annotation<typeof LEAKY_RECORD | null>,
});

// A small delay per chunk makes the stream look like a real model's.
const model = new ScriptedChatModel({ chunks: LEAKY_STREAM_CHUNKS, delayMs: 10 });

/** The compiled `leaky` graph referenced by `langgraph.json`. */
export const graph = new StateGraph(LeakyState)
  .addNode("leak", async (state) => {
    const answer = await model.invoke(state.messages);
    return { messages: [answer], leaked: LEAKY_RECORD };
  })
  .addEdge("__start__", "leak")
  .compile();

graph.name = "leaky";
