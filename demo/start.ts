import { createServer } from "node:net";
import { join } from "node:path";
import { startStack } from "./stack.js";
import { REPO_ROOT } from "./service-process.js";

/**
 * `npm start`: the whole system on the embedded default (SQLite) — the real LangGraph dev
 * server with demo graphs, a dev OIDC issuer, the control plane and one proxy — then
 * prints what to call. Ctrl-C stops everything.
 */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** The preferred port if it is free, else 0 (any free port). */
async function preferred(envName: string, fallback: number): Promise<number> {
  const port = Number(process.env[envName] ?? fallback);
  return (await portFree(port)) ? port : 0;
}

const verbose = process.argv.includes("--verbose");
console.log("agentgate: starting LangGraph upstream, identity issuer, control plane and proxy…");
const stack = await startStack({
  dataDir: process.env["AGENTGATE_DEMO_DIR"] ?? join(REPO_ROOT, ".agentgate", "demo"),
  ports: {
    proxy: await preferred("AGENTGATE_PROXY_PORT", 8080),
    controlPlaneHttp: await preferred("AGENTGATE_CP_HTTP_PORT", 4000),
    controlPlaneGrpc: await preferred("AGENTGATE_CP_GRPC_PORT", 4001),
    issuer: await preferred("AGENTGATE_DEMO_ISSUER_PORT", 9400),
  },
  onLog: verbose ? (component, line) => console.error(`[${component}] ${line}`) : undefined,
});
const proxy = stack.proxyUrl();
const token = await stack.issuer.mint({ sub: "alice", email: "alice@example.com", groups: ["developers"], expiresIn: "8h" });

console.log(`
agentgate is running (SQLite database in .agentgate/demo/).

  Proxy (LangGraph API, give this to clients)  ${proxy}
  Control plane GraphQL                         ${stack.graphqlUrl()}
  Dev OIDC issuer                               ${stack.issuer.url}
  Demo LangGraph upstream (key held by agentgate only)  ${stack.upstream.url}

Policy in force: ${stack.policyFile}
  group "developers" → every graph, every operation
  group "analysts"   → graphs echo and slow: runs, own threads, assistants read/search
  anyone else        → denied

A token for alice (group developers, valid 8 h):
  export TOKEN=${token}

Or mint one (dev issuer only):
  export TOKEN=$(curl -s -d sub=bob -d groups=analysts ${stack.issuer.tokenEndpoint} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')

First calls:
  curl -s -X POST ${proxy}/assistants/search -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{}'
  curl -s -X POST ${proxy}/runs/wait -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
       -d '{"assistant_id":"echo","input":{"text":"hello"}}'
  curl -s -X POST ${stack.graphqlUrl()} -H 'content-type: application/json' -d '{"query":"{ health { status snapshotVersion } }"}'

With the SDK:
  new Client({ apiUrl: "${proxy}", apiKey: null, defaultHeaders: { authorization: \`Bearer \${TOKEN}\` } })

Ctrl-C stops everything.${verbose ? "" : " (npm start -- --verbose shows the logs)"}
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nagentgate: stopping…");
    void stack.stop().finally(() => process.exit(0));
  });
}
