/**
 * The LangGraph HTTP API as data: method + path pattern → `resource:action` (DESIGN.md §4).
 * A request that matches no row is denied. Path parameters are captured by name; `target`
 * tells the classifier where the graph comes from.
 */
export type GraphSource =
  | "none" // graph-agnostic (search, store, thread CRUD)
  | "body-assistant" // assistant_id in the JSON body (runs, crons)
  | "path-assistant"; // {assistant} in the path

/** Kinds of LangGraph data a request can name. */
export type ResourceKind = "thread" | "run" | "assistant" | "namespace";

/**
 * Where a request names a resource, and how it is checked (stages/resources.ts):
 * - `path`: a path parameter of that name; threads must be the caller's (404 otherwise),
 *   runs must belong to the path's thread, assistants must be the caller's for writes
 *   (reads of assistants are shared by everyone allowed on their graph).
 * - `body`: a body field naming an existing thread (cron creation): checked like a path
 *   thread, and equal to the path's thread when the route has one.
 * - `new-id`: a body field choosing the id of a resource being created (`thread_id` with
 *   `if_exists`): taken by someone else is 409, before anything is forwarded.
 * - `scoped`: body or query fields holding a store namespace, prefixed with the caller's
 *   scope by the gateway (stages/store-scope.ts).
 */
export type ResourceRef =
  | { readonly kind: "thread" | "run" | "assistant"; readonly in: "path"; readonly name: string }
  | { readonly kind: "thread"; readonly in: "body"; readonly name: string }
  | { readonly kind: "thread" | "assistant"; readonly in: "new-id"; readonly name: string }
  | { readonly kind: "namespace"; readonly in: "body" | "query"; readonly name: string };

export interface RouteSpec {
  method: string;
  pattern: string;
  operation: string;
  graph: GraphSource;
  /** Streaming responses (SSE) are relayed event by event. */
  streaming?: boolean;
  /** Refused with a clear error instead of forwarded (not enforceable yet). */
  unsupported?: string;
  /** Every place the request names a resource (filled in from the path below, plus body fields). */
  names?: readonly ResourceRef[];
}

const A = "body-assistant" as const;
const P = "path-assistant" as const;
const N = "none" as const;
const CRONS_UNOWNED = "crons have no owner the gateway can check: listing, changing or deleting crons is not supported through the gateway";

/** Actions that only read. Every other operation changes upstream state (runs, writes, deletes). */
const READ_ACTIONS = new Set(["read", "search", "history", "get", "info"]);

/** The operation may change upstream state: its exchange is written ahead before forwarding (recording/intent-journal.ts). */
export function changesState(operation: string): boolean {
  return !READ_ACTIONS.has(operation.slice(operation.indexOf(":") + 1));
}

export const ROUTES: readonly RouteSpec[] = [
  // assistants
  { method: "POST", pattern: "/assistants", operation: "assistants:create", graph: "body-assistant", names: [{ kind: "assistant", in: "new-id", name: "assistant_id" }] },
  { method: "POST", pattern: "/assistants/search", operation: "assistants:search", graph: N },
  { method: "POST", pattern: "/assistants/count", operation: "assistants:search", graph: N },
  { method: "GET", pattern: "/assistants/{assistant}", operation: "assistants:read", graph: P },
  { method: "PATCH", pattern: "/assistants/{assistant}", operation: "assistants:update", graph: P },
  { method: "DELETE", pattern: "/assistants/{assistant}", operation: "assistants:delete", graph: P },
  { method: "GET", pattern: "/assistants/{assistant}/graph", operation: "assistants:read", graph: P },
  { method: "GET", pattern: "/assistants/{assistant}/schemas", operation: "assistants:read", graph: P },
  { method: "GET", pattern: "/assistants/{assistant}/subgraphs", operation: "assistants:read", graph: P },
  { method: "GET", pattern: "/assistants/{assistant}/subgraphs/{namespace}", operation: "assistants:read", graph: P },
  { method: "POST", pattern: "/assistants/{assistant}/versions", operation: "assistants:read", graph: P },
  { method: "POST", pattern: "/assistants/{assistant}/latest", operation: "assistants:update", graph: P },
  // threads
  { method: "POST", pattern: "/threads", operation: "threads:create", graph: N, names: [{ kind: "thread", in: "new-id", name: "thread_id" }] },
  { method: "POST", pattern: "/threads/search", operation: "threads:search", graph: N },
  { method: "POST", pattern: "/threads/count", operation: "threads:search", graph: N },
  { method: "POST", pattern: "/threads/prune", operation: "threads:delete", graph: N, unsupported: "pruning several threads at once is not supported through the gateway; delete threads one by one" },
  { method: "GET", pattern: "/threads/{thread}", operation: "threads:read", graph: N },
  { method: "PATCH", pattern: "/threads/{thread}", operation: "threads:update", graph: N },
  { method: "DELETE", pattern: "/threads/{thread}", operation: "threads:delete", graph: N },
  { method: "POST", pattern: "/threads/{thread}/copy", operation: "threads:create", graph: N },
  { method: "GET", pattern: "/threads/{thread}/state", operation: "threads:read", graph: N },
  { method: "POST", pattern: "/threads/{thread}/state", operation: "threads:update", graph: N },
  { method: "PATCH", pattern: "/threads/{thread}/state", operation: "threads:update", graph: N },
  { method: "GET", pattern: "/threads/{thread}/state/{checkpoint}", operation: "threads:read", graph: N },
  { method: "POST", pattern: "/threads/{thread}/state/checkpoint", operation: "threads:read", graph: N },
  { method: "GET", pattern: "/threads/{thread}/history", operation: "threads:history", graph: N },
  { method: "POST", pattern: "/threads/{thread}/history", operation: "threads:history", graph: N },
  // runs on a thread
  { method: "POST", pattern: "/threads/{thread}/runs", operation: "runs:create", graph: A },
  { method: "POST", pattern: "/threads/{thread}/runs/stream", operation: "runs:stream", graph: A, streaming: true },
  { method: "POST", pattern: "/threads/{thread}/runs/wait", operation: "runs:wait", graph: A },
  { method: "GET", pattern: "/threads/{thread}/runs", operation: "runs:search", graph: N },
  { method: "GET", pattern: "/threads/{thread}/runs/{run}", operation: "runs:read", graph: N },
  { method: "DELETE", pattern: "/threads/{thread}/runs/{run}", operation: "runs:delete", graph: N },
  { method: "POST", pattern: "/threads/{thread}/runs/{run}/cancel", operation: "runs:cancel", graph: N },
  { method: "GET", pattern: "/threads/{thread}/runs/{run}/join", operation: "runs:read", graph: N },
  { method: "GET", pattern: "/threads/{thread}/runs/{run}/stream", operation: "runs:stream", graph: N, streaming: true },
  // stateless runs
  { method: "POST", pattern: "/runs", operation: "runs:create", graph: A },
  { method: "POST", pattern: "/runs/stream", operation: "runs:stream", graph: A, streaming: true },
  { method: "POST", pattern: "/runs/wait", operation: "runs:wait", graph: A },
  // A stateless run has no thread to own: joining one by id could read someone else's output.
  { method: "GET", pattern: "/runs/{run}/stream", operation: "runs:stream", graph: N, unsupported: "joining a stateless run's stream is not supported through the gateway; stream the run when you create it" },
  { method: "POST", pattern: "/runs/batch", operation: "runs:create", graph: N, unsupported: "batch runs carry several assistants; send them one by one" },
  { method: "POST", pattern: "/runs/cancel", operation: "runs:cancel", graph: N, unsupported: "bulk cancel is not supported through the gateway; cancel runs one by one" },
  // crons
  { method: "POST", pattern: "/runs/crons", operation: "crons:create", graph: A, names: [{ kind: "thread", in: "body", name: "thread_id" }] },
  { method: "POST", pattern: "/threads/{thread}/runs/crons", operation: "crons:create", graph: A, names: [{ kind: "thread", in: "body", name: "thread_id" }] },
  // Crons carry no owner the gateway could check or filter on: listing, changing or deleting
  // them by id would reach every identity's crons, so those routes are refused.
  { method: "POST", pattern: "/runs/crons/search", operation: "crons:search", graph: N, unsupported: CRONS_UNOWNED },
  { method: "POST", pattern: "/runs/crons/count", operation: "crons:search", graph: N, unsupported: CRONS_UNOWNED },
  { method: "DELETE", pattern: "/runs/crons/{cron}", operation: "crons:delete", graph: N, unsupported: CRONS_UNOWNED },
  { method: "PATCH", pattern: "/runs/crons/{cron}", operation: "crons:update", graph: N, unsupported: CRONS_UNOWNED },
  // store
  { method: "PUT", pattern: "/store/items", operation: "store:put", graph: N, names: [{ kind: "namespace", in: "body", name: "namespace" }] },
  { method: "GET", pattern: "/store/items", operation: "store:get", graph: N, names: [{ kind: "namespace", in: "query", name: "namespace" }] },
  { method: "DELETE", pattern: "/store/items", operation: "store:delete", graph: N, names: [{ kind: "namespace", in: "body", name: "namespace" }] },
  { method: "POST", pattern: "/store/items/search", operation: "store:search", graph: N, names: [{ kind: "namespace", in: "body", name: "namespace_prefix" }] },
  { method: "POST", pattern: "/store/namespaces", operation: "store:list_namespaces", graph: N, names: [{ kind: "namespace", in: "body", name: "prefix" }] },
  // the newer streaming protocol: refused, never passed unchecked
  { method: "POST", pattern: "/threads/{thread}/commands", operation: "runs:create", graph: N, unsupported: "the commands protocol is not enforced by the gateway yet; use runs.stream" },
  { method: "POST", pattern: "/threads/{thread}/stream/events", operation: "runs:stream", graph: N, unsupported: "the events protocol is not enforced by the gateway yet; use runs.stream" },
  { method: "GET", pattern: "/threads/{thread}/stream/events", operation: "runs:stream", graph: N, unsupported: "the events protocol is not enforced by the gateway yet; use runs.stream" },
  // server info (authenticated, allowed to anyone with any role on the connection)
  { method: "GET", pattern: "/info", operation: "meta:info", graph: N },
  { method: "GET", pattern: "/ok", operation: "meta:info", graph: N },
];

/** A matched route with its captured path parameters. */
export interface RouteMatch {
  route: RouteSpec;
  params: Record<string, string>;
}

interface CompiledRoute {
  route: RouteSpec;
  segments: readonly string[]; // literal, or "{name}" for a parameter
}

/**
 * What each path parameter is. Resources are checked; the others need no check of their own:
 * a checkpoint is looked up inside its (checked) thread, a subgraph namespace is a node path
 * of a graph (not data), and every route naming a cron is refused.
 */
export const PATH_PARAMS: Readonly<Record<string, "thread" | "run" | "assistant" | "inside-thread" | "not-data" | "refused">> = {
  thread: "thread",
  run: "run",
  assistant: "assistant",
  checkpoint: "inside-thread",
  namespace: "not-data",
  cron: "refused",
};

function buildResources(route: RouteSpec): readonly ResourceRef[] {
  const fromPath: ResourceRef[] = [];
  for (const m of route.pattern.matchAll(/\{(\w+)\}/g)) {
    const kind = PATH_PARAMS[m[1]!];
    if (kind === "thread" || kind === "run" || kind === "assistant") fromPath.push({ kind, in: "path", name: m[1]! });
  }
  return Object.freeze([...fromPath, ...(route.names ?? [])]);
}
const RESOURCES = new Map(ROUTES.map((r) => [r, buildResources(r)]));

/** Every place a route names a resource: its path parameters, then its declared body fields. */
export function resourcesOf(route: RouteSpec): readonly ResourceRef[] {
  return RESOURCES.get(route) ?? buildResources(route);
}

// Index by method and segment count, built once at module load (habit 8).
const INDEX = new Map<string, CompiledRoute[]>();
for (const route of ROUTES) {
  const segments = route.pattern.split("/").slice(1);
  const key = `${route.method} ${segments.length}`;
  const list = INDEX.get(key) ?? [];
  list.push({ route, segments });
  INDEX.set(key, list);
}

// A path segment we accept as a parameter value: ids, graph names, UUIDs.
const PARAM_VALUE = /^[A-Za-z0-9._~:@-]{1,200}$/;

/**
 * Finds the route for a method and a pathname (no query string). Literal segments win
 * over parameters ("/threads/search" is not thread "search"). Returns undefined when no
 * route matches or a parameter value is not a plain identifier.
 */
export function matchRoute(method: string, pathname: string): RouteMatch | undefined {
  const parts = pathname.split("/").slice(1);
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop(); // tolerate one trailing slash
  const candidates = INDEX.get(`${method} ${parts.length}`);
  if (!candidates) return undefined;
  let best: { match: RouteMatch; literals: number } | undefined;
  for (const { route, segments } of candidates) {
    const params: Record<string, string> = {};
    let literals = 0;
    let ok = true;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      let part: string;
      try {
        part = decodeURIComponent(parts[i]!);
      } catch {
        return undefined;
      }
      if (seg.startsWith("{")) {
        if (!PARAM_VALUE.test(part)) {
          ok = false;
          break;
        }
        params[seg.slice(1, -1)] = part;
      } else if (seg === part) {
        literals++;
      } else {
        ok = false;
        break;
      }
    }
    if (ok && (!best || literals > best.literals)) best = { match: { route, params }, literals };
  }
  return best?.match;
}
