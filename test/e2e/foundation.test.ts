import { Client } from "@langchain/langgraph-sdk";
import type { Stack } from "../../demo/stack.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

/**
 * The foundation end to end, on both storage providers: the real LangGraph server behind
 * a proxy that got its policy from the control plane over gRPC, called with the real SDK
 * and a token from a real OIDC issuer.
 */
describe.each(["postgresql", "sqlite"] as const)("foundation on %s", (provider) => {
  let e2e: E2eStack;
  let stack: Stack;

  beforeAll(async () => {
    e2e = await startE2eStack({ provider, countingHop: true });
    stack = e2e.stack;
  }, 120_000);

  afterAll(() => e2e?.stop());

  const clientFor = async (sub: string, groups: string[]) =>
    new Client({
      apiUrl: stack.proxyUrl(),
      apiKey: null,
      defaultHeaders: { authorization: `Bearer ${await stack.issuer.mint({ sub, groups })}` },
    });

  test("the SDK lists assistants and runs echo through the proxy", async () => {
    const client = await clientFor("dev-1", ["developers"]);
    const assistants = await client.assistants.search();
    expect(assistants.map((a) => a.graph_id)).toEqual(expect.arrayContaining(["echo", "leaky", "slow"]));

    const output = await client.runs.wait(null, "echo", { input: { text: "hello", nested: { deep: [1, 2, { x: "y" }] } } });
    expect(output).toMatchObject({ text: "hello", nested: { deep: [1, 2, { x: "y" }] } });
  });

  test("only the gateway's credential reaches the upstream, never the caller's token", async () => {
    stack.hop!.reset();
    const client = await clientFor("dev-2", ["developers"]);
    await client.assistants.search();
    expect(stack.hop!.requests.length).toBeGreaterThan(0);
    for (const r of stack.hop!.requests) {
      expect(r.headers["authorization"]).toBeUndefined();
      expect(r.headers["x-api-key"]).toBe(stack.upstream.apiKey);
    }
  });

  test("no token, no access, and the upstream never sees the request", async () => {
    stack.hop!.reset();
    const res = await fetch(`${stack.proxyUrl()}/assistants/search`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe("AUTHN_REQUIRED");
    expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(stack.hop!.requests).toHaveLength(0);
  });

  test("the control plane answers the GraphQL health query", async () => {
    const res = await fetch(stack.graphqlUrl(), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ health { status database snapshotVersion connectedProxies } }" }),
    });
    const body = (await res.json()) as { data: { health: { status: string; database: string; snapshotVersion: string; connectedProxies: number } } };
    expect(body.data.health).toMatchObject({ status: "ok", database: provider, connectedProxies: 1 });
    expect(Number(body.data.health.snapshotVersion)).toBeGreaterThan(0);
  });

  test("both planes answer /healthz, /readyz and Prometheus /metrics", async () => {
    const proxyMetrics = async () => (await fetch(`${stack.proxyUrl()}/metrics`)).text();
    const SEARCHES = /agentgate_proxy_requests_total\{decision="allow",operation="assistants:search",status="200"\} (\d+)/;
    const searches = (metrics: string) => Number(SEARCHES.exec(metrics)?.[1] ?? 0);
    const before = searches(await proxyMetrics());
    const token = await stack.issuer.mint({ sub: "m", groups: ["developers"] });
    await fetch(`${stack.proxyUrl()}/assistants/search`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
    const cp = stack.controlPlane.ready["httpUrl"]!;
    for (const base of [stack.proxyUrl(), cp]) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    }
    const after = await proxyMetrics();
    expect(searches(after)).toBe(before + 1); // this test's one allowed search
    expect(after).toMatch(/agentgate_proxy_snapshot_version [1-9]/);
    const cpMetrics = await (await fetch(`${cp}/metrics`)).text();
    expect(cpMetrics).toMatch(/agentgate_cp_proxies_connected 1/);
  });
});
