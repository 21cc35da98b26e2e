/**
 * Opt-in patch of the LangGraph dev server (@langchain/langgraph-api 1.5.1)
 * that ends `runs/wait`, `runs/stream` and joins as soon as a run is done.
 *
 * Why: the dev server's join loop (storage/ops.mjs, `Stream.join`) only
 * leaves on a `run:<id>:control` "done" message, which nothing publishes, or
 * when a 500 ms queue poll times out and the run is no longer running. So
 * every wait/stream ends ~0.5 s after the run's last event. This publishes
 * "done" once the worker has finished with the run: after the run's terminal
 * status AND the thread's update (or the temporary thread's deletion), so a
 * client that immediately reads the thread sees it idle.
 *
 * Runs in the server child only. Relies on unexported internals; if they are
 * not there (another version), it does nothing and says so.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

interface StoreRun {
  thread_id?: string;
}
interface Conn {
  with<T>(fn: (store: { runs: Record<string, StoreRun | undefined> }) => T | Promise<T>): Promise<T>;
}
type Method = (this: { conn: Conn }, ...args: unknown[]) => Promise<unknown>;
interface Patchable {
  prototype: Record<string, Method>;
}
interface OpsModule {
  FileSystemRuns?: Patchable;
  FileSystemThreads?: Patchable;
  StreamManager?: {
    getQueue(runId: string, options: { ifNotFound: "create"; resumable: boolean }): {
      push(item: { topic: string; data: unknown }): void;
    };
  };
}

/** Environment flag that makes the server child call {@link enableFastRunEnd}. */
export const FAST_RUN_END_ENV = "AGENTGATE_UPSTREAM_FAST_RUN_END";

/** Logged with the run id each time the patch ends a run's joins. */
export const FAST_RUN_END_DONE_LOG = "[agentgate upstream] fast run end: done";

const LIVE_STATUSES = new Set(["pending", "running"]);

/** Install the patch; returns a reason when it could not. */
export async function enableFastRunEnd(): Promise<string | undefined> {
  const pkg = createRequire(import.meta.url).resolve("@langchain/langgraph-api/package.json");
  const ops = (await import(pathToFileURL(join(dirname(pkg), "dist/storage/ops.mjs")).href)) as OpsModule;
  const { FileSystemRuns, FileSystemThreads, StreamManager } = ops;
  const runs = FileSystemRuns?.prototype;
  const threads = FileSystemThreads?.prototype;
  if (!runs?.["setStatus"] || !threads?.["setStatus"] || !threads["delete"] || !StreamManager) {
    return "langgraph-api internals not found (version changed?)";
  }

  // thread id -> runs that reached a terminal status, waiting for the
  // worker's final thread update.
  const finished = new Map<string, string[]>();

  const runSetStatus = runs["setStatus"];
  runs["setStatus"] = async function (this: { conn: Conn }, ...args: unknown[]) {
    const result = await runSetStatus.apply(this, args);
    const [runId, status] = args as [string, string];
    if (!LIVE_STATUSES.has(status)) {
      const threadId = await this.conn.with((store) => store.runs[runId]?.thread_id);
      if (threadId !== undefined) finished.set(threadId, [...(finished.get(threadId) ?? []), runId]);
    }
    return result;
  };

  // The worker's `finally` calls threads.setStatus (or threads.delete for a
  // temporary thread) right after the run's terminal status.
  for (const name of ["setStatus", "delete"] as const) {
    const original = threads[name]!;
    threads[name] = async function (this: { conn: Conn }, ...args: unknown[]) {
      try {
        return await original.apply(this, args);
      } finally {
        const threadId = args[0] as string;
        for (const runId of finished.get(threadId) ?? []) {
          StreamManager.getQueue(runId, { ifNotFound: "create", resumable: false }).push({
            topic: `run:${runId}:control`,
            data: "done",
          });
          // Read by upstream-fast-end.test.ts (child output goes to the parent's log only).
          console.log(`${FAST_RUN_END_DONE_LOG} ${runId}`);
        }
        finished.delete(threadId);
      }
    };
  }
  return undefined;
}
