import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { startStack, type Stack } from "./stack.js";
import { REPO_ROOT } from "./service-process.js";
import { acquireInstanceLock } from "./instance-lock.js";
import { DEMO_USERS } from "./demo-policy.js";
import { buildConsole, consoleBuildIsStale } from "../control-plane/console/web/build.mjs";

/**
 * `npm start`: the whole system on the embedded default (SQLite) — the real LangGraph dev
 * server with demo graphs, a dev OIDC issuer, the control plane and one proxy — then
 * prints what to call, with a token for every demo role. One demo per data folder: a
 * second start says where the first runs and changes nothing. Ctrl-C (or SIGTERM to npm)
 * stops everything.
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

const TOKEN_LIFETIME = "8h";
const verbose = process.argv.includes("--verbose");
const dataDir = process.env["AGENTGATE_DEMO_DIR"] ?? join(REPO_ROOT, ".agentgate", "demo");
mkdirSync(dataDir, { recursive: true });
const lockFile = join(dataDir, "running.json");

// Before anything else: a second demo on the same folder would rewrite the policy of the
// first and apply it to the shared database.
const taken = acquireInstanceLock(lockFile);
if (!taken.ok) {
  const where = taken.running.proxy ? `, proxy ${taken.running.proxy}, GraphQL ${taken.running.graphql}` : " (still starting)";
  console.error(`agentgate: a demo is already running from ${dataDir} (pid ${taken.running.pid}${where}); nothing was changed. Stop it first, or set AGENTGATE_DEMO_DIR to start another.`);
  process.exit(1);
}
const lock = taken.lock;

// Signals are handled from the first moment: a stop during start-up still stops every child.
let stack: Stack | undefined;
let stopping = false;
const stopAll = (code: number) => {
  if (stopping) return;
  stopping = true;
  console.log("\nagentgate: stopping…");
  void (stack?.stop() ?? Promise.resolve()).finally(() => {
    lock.release();
    process.exit(code);
  });
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stopAll(0));
// npm forwards SIGINT/SIGTERM to its child (the script runs with `exec`, so that is us).
// If npm itself dies without a word (kill -9), we are re-parented: stop as if signalled.
const parent = process.ppid;
setInterval(() => process.ppid !== parent && stopAll(0), 500).unref();
process.on("exit", () => lock.release());

// The web console's pages are a Vite bundle: build it on a fresh checkout or after its
// sources changed (a hash of a dozen small files decides; a fresh bundle costs nothing).
if (consoleBuildIsStale()) {
  console.log("agentgate: building the web console (Vite)…");
  try {
    await buildConsole({ force: true });
  } catch (err) {
    console.error(`agentgate: the web console could not be built (${(err as Error).message}); the API works, /console/ will say so.`);
  }
}

console.log("agentgate: starting LangGraph upstream, identity providers, control plane and proxy…");
try {
  stack = await startStack({
    dataDir,
    persistIssuerKeys: true,
    oidcProvider: true,
    ports: {
      proxy: await preferred("AGENTGATE_PROXY_PORT", 8080),
      controlPlaneHttp: await preferred("AGENTGATE_CP_HTTP_PORT", 4000),
      controlPlaneGrpc: await preferred("AGENTGATE_CP_GRPC_PORT", 4001),
      issuer: await preferred("AGENTGATE_DEMO_ISSUER_PORT", 9400),
      oidcProvider: await preferred("AGENTGATE_DEMO_OIDC_PORT", 9401),
    },
    onLog: verbose ? (component, line) => console.error(`[${component}] ${line}`) : undefined,
  });
} catch (err) {
  console.error(`agentgate: the demo did not start: ${(err as Error).message.split("\n")[0]} (npm start -- --verbose shows the logs)`);
  lock.release();
  process.exit(1);
}
if (stopping) await new Promise(() => undefined); // a signal came during start-up: stopAll exits

const proxy = stack.proxyUrl();
const graphql = stack.graphqlUrl();
lock.update({ proxy, graphql, console: stack.consoleUrl() });

const tokens = await Promise.all(
  DEMO_USERS.map(async (u) => ({ ...u, token: await stack.issuer.mint({ sub: u.sub, email: u.email, groups: [...u.groups], expiresIn: TOKEN_LIFETIME }) })),
);
const tokenVar = (role: string) => `${role.toUpperCase()}_TOKEN`;
// Also in a file (owner-only), so another terminal can `source` them.
const tokensFile = join(dataDir, "tokens.env");
writeFileSync(tokensFile, tokens.map((t) => `export ${tokenVar(t.role)}=${t.token}\n`).join("") + `export TOKEN=${tokens[0]!.token}\n`, { mode: 0o600 });
const shownDir = relative(process.cwd(), dataDir).startsWith("..") ? dataDir : relative(process.cwd(), dataDir) || ".";

console.log(`
agentgate is running (SQLite database in ${shownDir}/).

  Proxy (LangGraph API, give this to clients)  ${proxy}
  Web console (sign in as alice, bob, carol or dana, any password)  ${stack.consoleUrl()}
  Control plane GraphQL (admin API)             ${graphql}
  Dev OIDC issuer (curl tokens)                 ${stack.issuer.url}
  Demo OpenID provider (browser sign-in)        ${stack.oidcProvider!.url}
  Demo LangGraph upstream (key held by agentgate only)  ${stack.upstream.url}

Demo users, one per role (tokens valid ${TOKEN_LIFETIME}, signing keys kept in ${shownDir}/, so they survive a restart):
${tokens.map((t) => `  ${t.role.padEnd(9)}${t.sub.padEnd(6)} ${t.does}`).join("\n")}

${tokens.map((t) => `export ${tokenVar(t.role)}=${t.token}`).join("\n")}
export TOKEN=$MEMBER_TOKEN
(or, in another terminal: source ${shownDir}/tokens.env)

Policy in force: ${stack.policyFile}

First calls:
  curl -s -X POST ${proxy}/runs/wait -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
       -d '{"assistant_id":"echo","input":{"text":"hello"}}'
  # leaky needs a reviewer: 428 APPROVAL_REQUIRED with the request id
  curl -s -X POST ${proxy}/runs/wait -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
       -d '{"assistant_id":"leaky","input":{}}'
  # the approver sees it and approves it (then the member's retry runs)
  curl -s ${graphql} -H "authorization: Bearer $APPROVER_TOKEN" -H 'content-type: application/json' \\
       -d '{"query":"{ approvalRequests(status: \\"pending\\") { edges { node { id requesterSubject graph } } } }"}'
  curl -s ${graphql} -H "authorization: Bearer $APPROVER_TOKEN" -H 'content-type: application/json' \\
       -d '{"query":"mutation { approveRequest(id: \\"ID\\", note: \\"ok\\") { status } }"}'
  # the auditor reads the recorded sessions
  curl -s ${graphql} -H "authorization: Bearer $AUDITOR_TOKEN" -H 'content-type: application/json' \\
       -d '{"query":"{ sessions(first: 5) { edges { node { subject graph operation decision status } } } }"}'

Or mint a token for anyone (dev issuer only):
  curl -s -d sub=erin -d groups=members ${stack.issuer.tokenEndpoint}

With the SDK:
  new Client({ apiUrl: "${proxy}", apiKey: null, defaultHeaders: { authorization: \`Bearer \${TOKEN}\` } })

Ctrl-C stops everything.${verbose ? "" : " (npm start -- --verbose shows the logs)"}
`);
