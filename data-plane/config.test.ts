import { join } from "node:path";
import { availableParallelism } from "node:os";
import { loadProxyConfig, ProxyConfigError } from "./config.js";

const BASE = { AGENTGATE_PROXY_TOKEN: "proxy-token-0123456789", AGENTGATE_PROXY_ID: "edge-1", AGENTGATE_DATA_DIR: "/var/lib/agentgate" };
const base = { AGENTGATE_PROXY_TOKEN: "proxy-token-0123456789" };
const REDIS = { AGENTGATE_REDIS_URL: "redis://127.0.0.1:6379" };

function problems(env: Record<string, string>): string[] {
  try {
    loadProxyConfig(env);
    return [];
  } catch (e) {
    return (e as ProxyConfigError).problems;
  }
}

test("write-ahead defaults to state-changing; off is a deliberate choice; anything else is refused with the variable named", () => {
  expect(loadProxyConfig(base).writeAhead).toBe("state-changing");
  expect(loadProxyConfig({ ...base, AGENTGATE_WRITE_AHEAD: "" }).writeAhead).toBe("state-changing");
  expect(loadProxyConfig({ ...base, AGENTGATE_WRITE_AHEAD: "off" }).writeAhead).toBe("off");
  for (const bad of ["OFF", "none", "reads", "0"]) {
    expect(() => loadProxyConfig({ ...base, AGENTGATE_WRITE_AHEAD: bad })).toThrow(ProxyConfigError);
    expect(() => loadProxyConfig({ ...base, AGENTGATE_WRITE_AHEAD: bad })).toThrow(/AGENTGATE_WRITE_AHEAD/);
  }
});

test("read commit defaults to strict; group takes a 1–1000 ms window; anything else is refused with the variable named", () => {
  expect(loadProxyConfig(base)).toMatchObject({ readCommit: "strict", readCommitWindowMs: 5 });
  expect(loadProxyConfig({ ...base, AGENTGATE_READ_COMMIT: "group", AGENTGATE_READ_COMMIT_WINDOW_MS: "20" })).toMatchObject({ readCommit: "group", readCommitWindowMs: 20 });
  for (const bad of ["GROUP", "relaxed", "off"]) expect(() => loadProxyConfig({ ...base, AGENTGATE_READ_COMMIT: bad })).toThrow(/AGENTGATE_READ_COMMIT must/);
  for (const bad of ["0", "1001", "2.5", "soon"]) expect(() => loadProxyConfig({ ...base, AGENTGATE_READ_COMMIT_WINDOW_MS: bad })).toThrow(/AGENTGATE_READ_COMMIT_WINDOW_MS/);
});

describe("worker mode configuration", () => {
  test("one process by default; N or auto (one per core) with Redis", () => {
    expect(loadProxyConfig(BASE)).toMatchObject({ workers: 1, workerIndex: undefined, proxyId: "edge-1", dataDir: "/var/lib/agentgate", fleetSize: 1 });
    expect(loadProxyConfig({ ...BASE, ...REDIS, AGENTGATE_PROXY_WORKERS: "3" }).workers).toBe(3);
    expect(loadProxyConfig({ ...BASE, ...REDIS, AGENTGATE_PROXY_WORKERS: "auto" }).workers).toBe(availableParallelism());
  });

  test.each(["0", "-1", "1.5", "many", "257"])("AGENTGATE_PROXY_WORKERS=%s is refused", (value) => {
    expect(problems({ ...BASE, ...REDIS, AGENTGATE_PROXY_WORKERS: value })).toContain("AGENTGATE_PROXY_WORKERS must be auto or an integer from 1 to 256");
  });

  test("more than one worker without Redis is refused: each worker would enforce every limit in full", () => {
    expect(problems({ ...BASE, AGENTGATE_PROXY_WORKERS: "2" })).toContain("AGENTGATE_PROXY_WORKERS > 1 needs AGENTGATE_REDIS_URL (the workers share limits through Redis)");
  });

  test("a worker is a proxy of its own for recording: own id and data folder; limit shares count every worker", () => {
    const config = loadProxyConfig({ ...BASE, ...REDIS, AGENTGATE_PROXY_WORKERS: "4", AGENTGATE_PROXY_WORKER_INDEX: "2", AGENTGATE_FLEET_SIZE: "3" });
    expect(config).toMatchObject({ workers: 4, workerIndex: 2, proxyId: "edge-1.w2", dataDir: join("/var/lib/agentgate", "worker-2"), fleetSize: 12 });
    expect(problems({ ...BASE, ...REDIS, AGENTGATE_PROXY_WORKERS: "2", AGENTGATE_PROXY_WORKER_INDEX: "2" })).toContain("AGENTGATE_PROXY_WORKER_INDEX must be an integer below AGENTGATE_PROXY_WORKERS");
  });
});
