/**
 * Token usage of one finished run, read back from its thread's checkpoints: the call style that
 * started it (background, `runs/wait`, a stream of modes that carry no usage) does not matter.
 *
 * `POST /threads/{thread}/history` filtered on the run's id lists the run's checkpoints, newest
 * first; the oldest (source `input`) holds the state before the run, the newest the state after.
 * Messages of the newest not already in the oldest are the run's; each is charged once (see
 * usage.ts). When that cannot be read exactly (thread gone, more checkpoints than asked for, an
 * answer over the size bound, an upstream error) the answer is undefined and the caller charges
 * the run's reservation instead.
 */
import type { Dispatcher } from "undici";
import { createUsageTracker, extractTokenUsage } from "./usage.js";

/** Checkpoints asked for; a run with more is not read (charged its reservation). */
export const MAX_RUN_CHECKPOINTS = 200;
/** Largest history answer read. */
export const MAX_HISTORY_BYTES = 16 << 20;

interface Checkpoint {
  values?: unknown;
  metadata?: { source?: unknown; run_id?: unknown } | null;
}

/** Tokens the run produced, or undefined when they cannot be read exactly. */
export async function runTokensFromHistory(
  pool: Dispatcher,
  threadPath: string,
  runId: string,
  headers: Record<string, string>,
  timeoutMs = 10_000,
): Promise<number | undefined> {
  try {
    const res = await pool.request({
      method: "POST",
      path: `${threadPath}/history`,
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ limit: MAX_RUN_CHECKPOINTS, metadata: { run_id: runId } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_HISTORY_BYTES) {
        res.body.destroy();
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
    if (res.statusCode !== 200) return undefined;
    const checkpoints = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Checkpoint[];
    if (!Array.isArray(checkpoints) || checkpoints.length === 0) return undefined;
    const oldest = checkpoints[checkpoints.length - 1]!;
    if (oldest.metadata?.source !== "input" || checkpoints.some((c) => c.metadata?.run_id !== runId)) return undefined;
    const tracker = createUsageTracker();
    extractTokenUsage("values", oldest.values ?? null, tracker); // the first snapshot: baseline
    extractTokenUsage("values", checkpoints[0]!.values ?? null, tracker);
    return tracker.total;
  } catch {
    return undefined;
  }
}
