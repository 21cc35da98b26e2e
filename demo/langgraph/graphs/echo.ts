/**
 * `echo`: returns its input unchanged, whatever its shape.
 *
 * A functional-API entrypoint is used instead of a StateGraph because a state
 * schema would drop every key it does not declare; the entrypoint passes
 * arbitrary (nested) fields through, and `messages`, when present, come back
 * exactly as sent. `runs.wait(null, "echo", { input: { text: "hi" } })`
 * therefore returns `{ text: "hi" }`.
 */
import { entrypoint } from "@langchain/langgraph";

/** The compiled `echo` graph referenced by `langgraph.json`. */
export const graph = entrypoint({ name: "echo" }, async (input: unknown) => input ?? null);
