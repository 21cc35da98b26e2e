/**
 * Starts the real LangGraph dev server (the demo project in demo/langgraph)
 * as a child process, for e2e tests and for `npm start`'s demo stack.
 *
 * Why this shape:
 * - The server keeps its "in-memory" state in `<cwd>/.langgraph_api/`, where
 *   `cwd` is the project folder passed to `startServer()`. Each start gets its
 *   own temp folder as `cwd` (graph and auth paths are rewritten relative to
 *   it), so parallel servers never share state and nothing lands in the repo.
 * - Port 0 by default: the child binds a free port and reports it over IPC,
 *   so several jest workers can start servers at once without port races.
 * - The child runs `startServer()` directly (./upstream-server.ts) instead of
 *   `langgraphjs dev`, which adds a second process and edits `.gitignore`.
 * - The child is a process-group leader so `stop()` kills everything, and it
 *   exits on its own when this process goes away (IPC disconnect).
 *
 * No jest imports here: `npm start` uses this module too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UPSTREAM_API_KEY_ENV } from "../../demo/langgraph/auth.js";
import { FAST_RUN_END_ENV } from "./upstream-fast-end.js";
import type { UpstreamChildMessage } from "./upstream-server.js";
import { STATE_DIR_PREFIX } from "./upstream-state.js";

export { UPSTREAM_API_KEY_ENV };

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, "../..");
const require = createRequire(import.meta.url);

/** The demo project's config, used when no `config` is given. */
export const DEMO_LANGGRAPH_CONFIG = join(REPO_ROOT, "demo/langgraph/langgraph.json");

/** Options of {@link startLangGraph}. */
export interface StartLangGraphOptions {
  /** The key the upstream accepts in `x-api-key` (only the gateway should know it). */
  apiKey: string;
  /** Port to listen on; default 0 (a free port chosen by the OS). */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Path to a `langgraph.json`; default the demo project's. */
  config?: string;
  /** Receives every line the server logs (default: kept only for error reports). */
  onLog?: (line: string) => void;
  /**
   * End each wait/stream/join as soon as its run is done instead of the dev
   * server's ~0.5 s later (patches server internals; see ./upstream-fast-end.ts).
   * Default false: the unpatched server is what production-like tests should see.
   */
  fastRunEnd?: boolean;
  /** Give up starting after this long (default 60 s; a cold start is ~1-2 s). */
  startTimeoutMs?: number;
}

/** A running LangGraph upstream. */
export interface LangGraphUpstream {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  /** The key the upstream accepts in `x-api-key`. */
  apiKey: string;
  /** Process id of the server (leader of its process group). */
  pid: number;
  /** The per-run project folder holding `.langgraph_api/` (removed by stop). */
  stateDir: string;
  /** Kill the server's process group, wait for it, remove its state. Idempotent. */
  stop(): Promise<void>;
}

interface LangGraphConfig {
  graphs: Record<string, string | { path: string; description?: string }>;
  auth?: { path?: string; disable_studio_auth?: boolean };
}

const LOG_TAIL_LINES = 80;
const STOP_GRACE_MS = 3_000;

/** Start the LangGraph dev server on the demo project (or `config`). */
export async function startLangGraph(options: StartLangGraphOptions): Promise<LangGraphUpstream> {
  const configPath = resolve(options.config ?? DEMO_LANGGRAPH_CONFIG);
  const config = JSON.parse(await readFile(configPath, "utf-8")) as LangGraphConfig;
  const stateDir = await mkdtemp(join(tmpdir(), STATE_DIR_PREFIX));
  const host = options.host ?? "127.0.0.1";
  const payload = {
    port: options.port ?? 0,
    nWorkers: 10, // the CLI's default (-n)
    host,
    cwd: stateDir,
    graphs: rebaseSpecs(config.graphs, dirname(configPath), stateDir),
    ...(config.auth ? { auth: rebaseAuth(config.auth, dirname(configPath), stateDir) } : {}),
  };

  const logTail: string[] = [];
  const log = (line: string) => {
    logTail.push(line);
    if (logTail.length > LOG_TAIL_LINES) logTail.shift();
    options.onLog?.(line);
  };

  const child = spawn(
    process.execPath,
    ["--import", loaderUrl("tsx"), "--import", preloadUrl(), join(HERE, "upstream-server.ts"), JSON.stringify(payload)],
    {
      cwd: stateDir,
      env: { ...serverEnv(options.apiKey), ...(options.fastRunEnd ? { [FAST_RUN_END_ENV]: "1" } : {}) },
      detached: true, // own process group, killed as a whole by stop()
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    },
  );
  forwardLines(child, log);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await killGroup(child, exited);
      await rm(stateDir, { recursive: true, force: true });
    })());

  try {
    const port = await waitForReady(child, options.startTimeoutMs ?? 60_000);
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    await pollInfo(url);
    return { url, apiKey: options.apiKey, pid: child.pid ?? -1, stateDir, stop };
  } catch (error) {
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`LangGraph upstream failed to start: ${reason}\n--- server log ---\n${logTail.join("\n")}`, { cause: error });
  }
}

/** Rewrite `./file.ts:export` specs so they resolve from the temp project folder. */
function rebaseSpecs(graphs: LangGraphConfig["graphs"], projectDir: string, cwd: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(graphs).map(([id, spec]) => [id, rebaseSpec(typeof spec === "string" ? spec : spec.path, projectDir, cwd)]),
  );
}

function rebaseAuth(auth: NonNullable<LangGraphConfig["auth"]>, projectDir: string, cwd: string) {
  return auth.path ? { ...auth, path: rebaseSpec(auth.path, projectDir, cwd) } : auth;
}

// Relative rather than absolute: the package's preload hook joins `cwd` with
// the first graph path (path.join, which does not handle absolute paths).
function rebaseSpec(spec: string, projectDir: string, cwd: string): string {
  const [file = "", symbol] = spec.split(":", 2);
  const rebased = relative(cwd, resolve(projectDir, file));
  return symbol === undefined ? rebased : `${rebased}:${symbol}`;
}

function loaderUrl(specifier: string): string {
  return pathToFileURL(require.resolve(specifier)).href;
}

// The package does not export its preload (it only checks that graphs and
// the API share one @langchain/langgraph); reach it through package.json.
function preloadUrl(): string {
  const pkg = require.resolve("@langchain/langgraph-api/package.json");
  return pathToFileURL(join(dirname(pkg), "dist/preload.mjs")).href;
}

/** Environment of the server: no LangSmith, no analytics, the upstream key. */
function serverEnv(apiKey: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Drop anything that could send data out or change which graphs load.
    if (/^(LANGSMITH_|LANGCHAIN_|LANGGRAPH_|AGENTGATE_UPSTREAM_)/.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    NODE_ENV: "development", // as `langgraphjs dev` sets it
    LANGSMITH_TRACING: "false",
    LANGGRAPH_CLI_NO_ANALYTICS: "1",
    TSX_TSCONFIG_PATH: join(REPO_ROOT, "tsconfig.json"),
    [UPSTREAM_API_KEY_ENV]: apiKey,
  };
}

function forwardLines(child: ChildProcess, log: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let pending = "";
    stream?.setEncoding("utf-8");
    stream?.on("data", (data: string) => {
      const lines = (pending + data).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") log(line);
    });
    stream?.on("end", () => pending.trim() !== "" && log(pending));
  }
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => finish(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: UpstreamChildMessage) => {
      if (message.type === "ready") finish(undefined, message.port);
      else finish(new Error(message.message));
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(new Error(`server exited early (code ${code}, signal ${signal})`));
    function finish(error: Error | undefined, port?: number) {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolvePort(port ?? 0);
    }
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

// The child reports "ready" once listening; /info (exempt from auth) confirms
// that HTTP requests are served. A few tries cover slow machines.
async function pollInfo(url: string, attempts = 50): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const response = await fetch(`${url}/info`);
      await response.body?.cancel();
      if (response.ok) return;
      last = new Error(`GET /info answered ${response.status}`);
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`GET ${url}/info never answered 200: ${String(last)}`);
}

async function killGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // ESRCH: already gone.
    }
  };
  signalGroup("SIGTERM");
  const graceful = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), STOP_GRACE_MS).unref()),
  ]);
  if (!graceful) {
    signalGroup("SIGKILL");
    await exited;
  }
}
