/**
 * Child-process entry of the LangGraph upstream (see ./upstream.ts).
 *
 * Runs the package's programmatic `startServer()` (what `langgraphjs dev`
 * runs too, minus the CLI's extra process, IPC server, analytics hook and
 * `.gitignore` edit). Started as
 * `node --import tsx --import <langgraph-api>/dist/preload.mjs upstream-server.ts <payload>`;
 * the payload (StartServerSchema JSON) must be the LAST argument because the
 * preload hook reads it from there.
 *
 * Reports `{ type: "ready", port }` or `{ type: "error", message }` over IPC.
 * With `AGENTGATE_UPSTREAM_FAST_RUN_END=1` it patches the server so runs end
 * without the dev server's ~0.5 s delay (see ./upstream-fast-end.ts).
 */
import { rmSync } from "node:fs";
import { basename } from "node:path";
import { startServer } from "@langchain/langgraph-api/server";
import { enableFastRunEnd, FAST_RUN_END_ENV } from "./upstream-fast-end.js";
import { STATE_DIR_PREFIX } from "./upstream-state.js";

/** Message sent to the parent over the IPC channel. */
export type UpstreamChildMessage = { type: "ready"; port: number } | { type: "error"; message: string };

const send = (message: UpstreamChildMessage) => process.send?.(message);

try {
  const payload: Parameters<typeof startServer>[0] = JSON.parse(process.argv.at(-1) ?? "{}");
  // If the parent dies (jest worker crash, kill -9 of `npm start`), the IPC
  // channel closes (seen ~1.5 s later): exit so no server is left behind, and
  // remove the per-run state folder the parent can no longer remove.
  process.on("disconnect", () => {
    if (basename(payload.cwd).startsWith(STATE_DIR_PREFIX)) rmSync(payload.cwd, { recursive: true, force: true });
    process.exit(0);
  });
  if (process.env[FAST_RUN_END_ENV] === "1") {
    const problem = await enableFastRunEnd();
    if (problem) console.warn(`[agentgate upstream] fast run end unavailable: ${problem}`);
  }
  const { host } = await startServer(payload);
  // `host` is "address:port"; the port is the real one when 0 was asked for.
  const port = Number(host.slice(host.lastIndexOf(":") + 1));
  // The CLI exports these; stream metadata reads LANGGRAPH_API_URL at run time.
  process.env.PORT = String(port);
  process.env.LANGGRAPH_API_URL = `http://${payload.host}:${port}`;
  send({ type: "ready", port });
} catch (error) {
  send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
