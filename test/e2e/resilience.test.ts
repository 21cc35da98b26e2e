import { waitForProxyReady, type Stack } from "../../demo/stack.js";
import { startServiceProcess, type ServiceProcess } from "../../demo/service-process.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { graphql } from "../../control-plane/cli/graphql-client.js";

/**
 * The control plane is not on the request path: proxies keep enforcing their last good
 * snapshot while it is down (even across a proxy restart), then resync; several control
 * plane replicas on one PostgreSQL serve the same policy.
 */
const ADMIN_TOKEN = "bootstrap-admin-token-for-resilience-0123456789";
let e2e: E2eStack;
let stack: Stack;

beforeAll(async () => {
  e2e = await startE2eStack({ provider: "postgresql", env: { AGENTGATE_ADMIN_BOOTSTRAP_TOKEN: ADMIN_TOKEN } });
  stack = e2e.stack;
}, 120_000);

afterAll(() => e2e?.stop());

async function search(sub: string): Promise<number> {
  const token = await stack.issuer.mint({ sub, groups: ["developers"] });
  const res = await fetch(`${stack.proxyUrl()}/assistants/search`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
  await res.arrayBuffer();
  return res.status;
}

/** An admin GraphQL call with the bootstrap token, through the CLI's client (throws on errors). */
const admin = (url: string, query: string, variables: Record<string, unknown> = {}) => graphql<unknown>({ url, token: ADMIN_TOKEN }, query, variables);

/** Polls until `check` holds; fails after a generous `ms` (a liveness bound, not a speed assertion). */
async function within(ms: number, check: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SUSPEND = `mutation($issuer: String!, $subject: String!) { suspendIdentity(identity: { issuer: $issuer, subject: $subject }) { snapshotVersion } }`;

test("control plane down: the proxy keeps serving, survives its own restart from the disk snapshot, then resyncs", async () => {
  expect(await search("steady")).toBe(200);
  await stack.stopControlPlane("SIGKILL");
  expect(await search("steady")).toBe(200);

  // A proxy restarted while the control plane is down serves its last good snapshot.
  await stack.restartProxy(0);
  await waitForProxyReady(stack.proxyUrl(0), 10_000);
  expect(await search("steady")).toBe(200);
  const ready = (await (await fetch(`${stack.proxyUrl()}/readyz`)).json()) as { controlPlaneConnected: boolean };
  expect(ready.controlPlaneConnected).toBe(false);

  await stack.startControlPlane();
  // The proxy reconnects with jittered exponential backoff (capped at 10 s) after failed
  // attempts while the control plane was down: a liveness bound well past that cap.
  await within(45_000, async () => ((await (await fetch(`${stack.proxyUrl()}/readyz`)).json()) as { controlPlaneConnected: boolean }).controlPlaneConnected);
  // Resynced: a change made now is enforced.
  await admin(stack.graphqlUrl(), SUSPEND, { issuer: stack.issuer.url, subject: "steady" });
  await within(45_000, async () => (await search("steady")) === 403);
}, 120_000);

test("two control-plane replicas on one PostgreSQL: a change made through either reaches the proxy", async () => {
  const replica: ServiceProcess = await startServiceProcess("control-plane/main.ts", {
    DATABASE_URL: e2e.db!.url,
    AGENTGATE_DATA_DIR: e2e.dataDir, // same secret key file: both replicas decrypt the same credentials
    AGENTGATE_PROXY_TOKEN: stack.proxyToken,
    AGENTGATE_ADMIN_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    AGENTGATE_CP_HTTP_PORT: "0",
    AGENTGATE_CP_GRPC_PORT: "0",
    AGENTGATE_SNAPSHOT_POLL_MS: "200",
  });
  try {
    expect(await search("replicated")).toBe(200);
    // The proxy watches the first control plane; the write goes through the replica.
    await admin(`${replica.ready["httpUrl"]}/graphql`, SUSPEND, { issuer: stack.issuer.url, subject: "replicated" });
    await within(15_000, async () => (await search("replicated")) === 403);
    // The proxy acks what it applied; both replicas list it (the replica without its stream
    // reads the shared status table).
    const version = ((await admin(`${replica.ready["httpUrl"]}/graphql`, `{ snapshot { version } }`)) as { snapshot: { version: string } }).snapshot.version;
    for (const url of [stack.graphqlUrl(), `${replica.ready["httpUrl"]}/graphql`]) {
      await within(15_000, async () => {
        const data = (await admin(url, `{ proxies { edges { node { id connected ackedVersion } } } }`)) as {
          proxies: { edges: Array<{ node: { id: string; connected: boolean; ackedVersion: string } }> };
        };
        const node = data.proxies.edges[0]?.node;
        return node?.id === "proxy-1" && node.connected && node.ackedVersion === version;
      });
    }
  } finally {
    await replica.stop();
  }
}, 120_000);
