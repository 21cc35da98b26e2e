import type { IncomingMessage } from "node:http";
import { metricsAccessFromEnv, metricsRefusal, startMetricsListener, type MetricsAccess } from "./metrics-endpoint.js";
import { MetricsRegistry } from "./metrics.js";

const TOKEN = "scrape-token-0123456789";
const scrape = (remoteAddress: string, authorization?: string) =>
  ({ headers: authorization ? { authorization } : {}, socket: { remoteAddress } }) as unknown as Pick<IncomingMessage, "headers" | "socket">;

describe("who may read /metrics", () => {
  const open: MetricsAccess = { port: undefined, host: "127.0.0.1", token: undefined };
  const withToken: MetricsAccess = { ...open, token: TOKEN };

  test.each([
    // [access, separate listener, caller address, authorization, expected refusal]
    ["default", open, false, "127.0.0.1", undefined, undefined],
    ["default", open, false, "::1", undefined, undefined],
    ["default", open, false, "::ffff:127.0.0.1", undefined, undefined],
    ["default", open, false, "10.0.0.7", undefined, 403],
    ["default", open, false, "192.0.2.9", `Bearer ${TOKEN}`, 403],
    ["token", withToken, false, "10.0.0.7", `Bearer ${TOKEN}`, undefined],
    ["token", withToken, false, "127.0.0.1", undefined, 401],
    ["token", withToken, false, "127.0.0.1", `Bearer ${TOKEN}x`, 401],
    ["token", withToken, false, "127.0.0.1", `Bearer ${TOKEN.slice(0, -1)}`, 401],
    ["token", withToken, false, "127.0.0.1", TOKEN, 401],
    ["token", withToken, true, "10.0.0.7", undefined, 401],
    ["listener", open, true, "10.0.0.7", undefined, undefined],
  ] as const)("%s: separate=%s from %s with %s", (_name, access, separate, address, authorization, expected) => {
    expect(metricsRefusal(scrape(address, authorization), access, separate)?.status).toBe(expected);
  });

  test("configuration is validated", () => {
    const problems: string[] = [];
    expect(metricsAccessFromEnv({}, problems)).toEqual({ port: undefined, host: "127.0.0.1", token: undefined });
    metricsAccessFromEnv({ AGENTGATE_METRICS_PORT: "x", AGENTGATE_METRICS_TOKEN: "short" }, problems);
    expect(problems).toEqual(["AGENTGATE_METRICS_PORT must be a port number", "AGENTGATE_METRICS_TOKEN must be at least 16 characters"]);
  });

  test("a separate listener serves prom-client metrics (runtime defaults included) behind its token", async () => {
    const registry = new MetricsRegistry();
    registry.counter("agentgate_test_total", "a test counter").inc({ decision: "allow" }, 2);
    registry.gauge("agentgate_test_mode", "a labelled gauge", () => [[{ mode: "fail-closed" }, 1]], ["mode"]);
    const server = (await startMetricsListener(registry, { port: 0, host: "127.0.0.1", token: TOKEN }))!;
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('agentgate_test_total{decision="allow"} 2');
      expect(text).toContain('agentgate_test_mode{mode="fail-closed"} 1');
      for (const runtime of ["process_cpu_seconds_total", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes", "nodejs_gc_duration_seconds"]) expect(text).toContain(runtime);
      expect((await fetch(url.replace("/metrics", "/graphql"), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      server.close();
    }
  });
});
