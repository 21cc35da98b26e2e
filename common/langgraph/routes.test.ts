import { changesState, matchRoute, PATH_PARAMS, resourcesOf, ROUTES } from "./routes.js";

describe("matchRoute", () => {
  test.each([
    ["POST", "/assistants/search", "assistants:search", {}],
    ["GET", "/assistants/9f2c6a3e-0000-4000-8000-000000000001", "assistants:read", { assistant: "9f2c6a3e-0000-4000-8000-000000000001" }],
    ["POST", "/threads/search", "threads:search", {}],
    ["GET", "/threads/t1/state", "threads:read", { thread: "t1" }],
    ["POST", "/threads/t1/runs/stream", "runs:stream", { thread: "t1" }],
    ["GET", "/threads/t1/runs/r1/join", "runs:read", { thread: "t1", run: "r1" }],
    ["POST", "/runs/wait", "runs:wait", {}],
    ["POST", "/runs/crons", "crons:create", {}],
    ["PUT", "/store/items", "store:put", {}],
    ["GET", "/threads/t1/", "threads:read", { thread: "t1" }],
    ["PATCH", "/threads/t1/state", "threads:update", { thread: "t1" }],
    ["PATCH", "/runs/crons/c1", "crons:update", { cron: "c1" }],
  ])("%s %s → %s", (method, path, operation, params) => {
    const m = matchRoute(method, path);
    expect(m?.route.operation).toBe(operation);
    expect(m?.params).toEqual(params);
  });

  test.each([
    ["GET", "/threads"], // no list-all route in the API
    ["PUT", "/assistants/search"],
    ["POST", "/threads/a b/runs"],
    ["GET", "/threads/%E0%A4%A/state"], // malformed percent-encoding
    ["POST", "/internal/admin"],
    ["GET", "/"],
  ])("%s %s is unknown", (method, path) => {
    expect(matchRoute(method, path)).toBeUndefined();
  });

  test("every route has a resource:action operation and a unique method + pattern", () => {
    const seen = new Set<string>();
    for (const r of ROUTES) {
      expect(r.operation).toMatch(/^[a-z_]+:[a-z_]+$/);
      const key = `${r.method} ${r.pattern}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
  });
});

describe("the resource table", () => {
  test("every path parameter of every route is classified; every thread, run or assistant in a path is checked", () => {
    for (const r of ROUTES) {
      for (const m of r.pattern.matchAll(/\{(\w+)\}/g)) {
        const kind = PATH_PARAMS[m[1]!];
        expect(kind).toBeDefined();
        if (kind === "refused") expect(r.unsupported).toBeTruthy();
        if (kind === "thread" || kind === "run" || kind === "assistant") {
          expect(resourcesOf(r)).toContainEqual({ kind, in: "path", name: m[1] });
        }
      }
    }
  });

  test("a run is only ever named together with its thread; creating routes declare their id fields", () => {
    for (const r of ROUTES) {
      const refs = resourcesOf(r);
      if (!r.unsupported && refs.some((x) => x.kind === "run")) expect(refs[0]).toEqual({ kind: "thread", in: "path", name: "thread" });
    }
    expect(resourcesOf(matchRoute("POST", "/threads")!.route)).toEqual([{ kind: "thread", in: "new-id", name: "thread_id" }]);
    expect(resourcesOf(matchRoute("POST", "/assistants")!.route)).toEqual([{ kind: "assistant", in: "new-id", name: "assistant_id" }]);
    for (const method of ["PUT", "GET", "DELETE"]) expect(resourcesOf(matchRoute(method, "/store/items")!.route)[0]?.kind).toBe("namespace");
  });
});

describe("changesState (what is written ahead before forwarding)", () => {
  test("runs, writes and deletes are state-changing whatever their method; joins of a stream are too (conservative)", () => {
    for (const [method, path] of [["POST", "/runs/wait"], ["POST", "/threads"], ["DELETE", "/threads/t1"], ["PUT", "/store/items"], ["POST", "/runs/crons"], ["GET", "/threads/t1/runs/r1/stream"]] as const) {
      expect([method, path, changesState(matchRoute(method, path)!.route.operation)]).toEqual([method, path, true]);
    }
    for (const [method, path] of [["POST", "/assistants/search"], ["GET", "/threads/t1/state"], ["POST", "/threads/t1/history"], ["GET", "/store/items"]] as const) {
      expect([method, path, changesState(matchRoute(method, path)!.route.operation)]).toEqual([method, path, false]);
    }
  });
});
