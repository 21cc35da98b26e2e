import type { AddressInfo } from "node:net";
import type { ProxyServices, ProxyState, RequestContext } from "../pipeline/context.js";
import { createProxyServer } from "./server.js";

/**
 * A bug in the gateway (here: a policy state the pipeline cannot read) is a 500 INTERNAL
 * for the caller, recorded like any other exchange, never disguised as an upstream outage.
 */
test("an unexpected exception in the pipeline is answered 500 INTERNAL and still recorded", async () => {
  const recorded: RequestContext[] = [];
  const server = createProxyServer({
    services: { maxBodyBytes: 1 << 20 } as ProxyServices,
    state: () => ({}) as ProxyState, // missing everything the stages read: they throw a TypeError
    record: async (ctx) => void recorded.push(ctx),
    health: () => undefined,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/assistants/search`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer x" },
      body: "{}",
    });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("INTERNAL");
    expect(body.error.message).not.toMatch(/TypeError|undefined|at /); // no internals to the caller
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.record).toMatchObject({ decision: "deny", status: 500, errorCode: "INTERNAL" });
  } finally {
    server.close();
  }
});
