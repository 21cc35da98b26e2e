import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import { waitForProxyReady } from "../../demo/stack.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { loadProxyConfig } from "../../data-plane/config.js";
import { startProxy, type ProxyHandle } from "../../data-plane/app.js";

/**
 * The operator's Redis failure mode, through real proxies whose Redis is unreachable (a closed
 * port), against the real control plane and LangGraph server: each mode does what it says and
 * shows itself in /readyz and /metrics.
 */
function policy(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [{ name: "worker", bindings: [{ issuer: input.issuerUrl, group: "workers" }] }],
    connections: [{ name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [{ name: "workers", role: "worker", connection: "main", graphs: ["echo", "slow"], operations: ["threads:*", "runs:*"], limits: { concurrentRuns: 2 } }],
  });
}

let e2e: E2eStack;
let stack: Stack;
let deadRedis: string;
const started: Array<{ proxy: ProxyHandle; dir: string }> = [];

beforeAll(async () => {
  e2e = await startE2eStack({ provider: "postgresql", policy, env: { AGENTGATE_CONNECTION: "main" } });
  stack = e2e.stack;
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  deadRedis = `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}, 120_000);

afterAll(async () => {
  for (const { proxy, dir } of started) {
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  await e2e?.stop();
});

/** A proxy of this deployment whose Redis is down, in `mode`, in a fleet of two. */
async function proxyIn(mode: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "agentgate-redis-mode-"));
  const proxy = await startProxy(
    loadProxyConfig({
      AGENTGATE_PROXY_ID: `redis-${mode}`,
      AGENTGATE_PROXY_TOKEN: stack.proxyToken,
      AGENTGATE_CONTROL_PLANE: stack.controlPlane.ready["grpcAddress"]!,
      AGENTGATE_PROXY_PORT: "0",
      AGENTGATE_DATA_DIR: dir,
      AGENTGATE_ALLOW_HTTP_ISSUERS: "loopback",
      AGENTGATE_CONNECTION: "main",
      AGENTGATE_REDIS_URL: deadRedis,
      AGENTGATE_REDIS_FAILURE_MODE: mode,
      AGENTGATE_FLEET_SIZE: "2",
    }),
  );
  started.push({ proxy, dir });
  await waitForProxyReady(proxy.url);
  return proxy.url;
}

const clientAt = async (url: string, sub: string) =>
  new Client({ apiUrl: url, apiKey: null, defaultHeaders: { authorization: `Bearer ${await stack.issuer.mint({ sub, groups: ["workers"] })}` } });
const statusOf = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { status?: number }) => e.status ?? -1);
const slow = { input: { steps: 8, delay_ms: 250 } };

test("fail-closed: runs are refused while Redis is away; /readyz and /metrics say so", async () => {
  const url = await proxyIn("fail-closed");
  const client = await clientAt(url, "closed-1");
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push(await statusOf(client.runs.wait(null, "echo", { input: {} })));
  expect(statuses).toEqual([429, 429, 429, 429]);
  const ready = (await (await fetch(`${url}/readyz`)).json()) as { limits: Record<string, unknown>; warnings: string[] };
  expect(ready.limits).toMatchObject({ backend: "redis", failureMode: "fail-closed", degraded: true, fleetSize: 2 });
  expect(ready.warnings).toContain("Redis unavailable: limits follow fail-closed");
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toContain('agentgate_proxy_limiter_failure_mode{mode="fail-closed"} 1');
  expect(metrics).toContain("agentgate_proxy_limiter_degraded 1");
});

test("local-fallback: each proxy of a fleet of two enforces half of concurrentRuns 2 (one run)", async () => {
  const url = await proxyIn("local-fallback");
  const client = await clientAt(url, "fallback-1");
  const threads = [(await client.threads.create()).thread_id, (await client.threads.create()).thread_id];
  expect(await statusOf(client.runs.create(threads[0]!, "slow", slow))).toBe(200);
  expect(await statusOf(client.runs.create(threads[1]!, "slow", slow))).toBe(429);
  expect(await statusOf(client.runs.wait(null, "echo", { input: {} }))).toBe(429);
  // Three failed decisions in a row open the breaker: the outage is now reported.
  const ready = (await (await fetch(`${url}/readyz`)).json()) as { limits: Record<string, unknown> };
  expect(ready.limits).toMatchObject({ failureMode: "local-fallback", degraded: true });
});

test("fail-open: limits are off while Redis is away", async () => {
  const url = await proxyIn("fail-open");
  const client = await clientAt(url, "open-1");
  const threads = await Promise.all([0, 1, 2].map(async () => (await client.threads.create()).thread_id));
  for (const t of threads) expect(await statusOf(client.runs.create(t, "slow", slow))).toBe(200);
});
