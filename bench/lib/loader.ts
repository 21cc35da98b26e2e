/** Picks the HTTP load generator: wrk when installed, else the Node (undici) worker process. */
import type { HttpLoadSpec, LoadResult } from "./load.js";
import { hasCommand, runWorker } from "./procs.js";
import { runWrk } from "./wrk.js";

export interface HttpLoader {
  readonly tool: "wrk" | "node";
  /** Printed above the tables (why the fallback is used). */
  readonly note: string;
  run(spec: HttpLoadSpec): Promise<LoadResult>;
}

export function chooseLoader(forceNode: boolean): HttpLoader {
  if (!forceNode && hasCommand("wrk")) {
    return { tool: "wrk", note: "load generator: wrk (1 thread, closed loop, keep-alive)", run: runWrk };
  }
  const why = forceNode ? "--node-load given" : "wrk is not installed (apt-get install -y wrk)";
  return {
    tool: "node",
    note: `load generator: Node undici Pool in a separate process (${why}); it costs more CPU per request than wrk, so high-concurrency rows understate every target`,
    run: (spec) => runWorker<HttpLoadSpec, LoadResult>("http-load-worker.ts", spec, spec.durationS * 1000 + 60_000),
  };
}
