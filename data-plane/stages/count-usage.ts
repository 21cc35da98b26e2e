import type { RequestContext } from "../pipeline/context.js";
import type { AnswerPart, AnswerRefusal } from "../pipeline/answer.js";
import { extractTokenUsage } from "../limits/usage.js";
import { RUN_OPERATIONS } from "../limits/run-rules.js";

/** Counts model tokens in one piece of run output (for cost budgets); never fails the relay. */
function countUsage(ctx: RequestContext, event: string, data: string): void {
  // Still seen (a first `values` is the input state; the mode counts as read) even without usage.
  if (!data.includes("usage_metadata")) return void extractTokenUsage(event, null, ctx.usage);
  try {
    extractTokenUsage(event, JSON.parse(data), ctx.usage);
  } catch {
    // not JSON: no usage to read
  }
}

/**
 * Response stage `count usage`: model tokens reported in a run's output, counted once per
 * message (limits/usage.ts), from each streamed event, or from a runs/wait answer's final
 * state (whose input part, what the caller sent, is the baseline, not new usage). Other
 * exchanges are not read.
 */
export function countAnswerUsage(ctx: RequestContext, part: AnswerPart): AnswerRefusal | undefined {
  if (!RUN_OPERATIONS.has(ctx.route!.route.operation)) return undefined;
  if (part.kind === "sse") {
    for (const e of part.events) countUsage(ctx, e.event, e.data);
    return undefined;
  }
  if (part.mode !== "wait") return undefined;
  const json = part.json();
  if (json === undefined) return undefined;
  countUsage(ctx, "values", JSON.stringify(ctx.json?.["input"] ?? null));
  countUsage(ctx, "values", JSON.stringify(json.value));
  return undefined;
}
