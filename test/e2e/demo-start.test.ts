 
/**
 * `npm start` as a new user runs it: the printed tokens work on the proxy and on the admin
 * API, a second start on the same data folder says where the first runs and changes
 * nothing, SIGTERM to npm stops every child, and the printed tokens survive a restart.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../demo/service-process.js";

interface Demo {
  npm: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function npmStart(env: Record<string, string>): Demo {
  const npm = spawn("npm", ["start"], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  npm.stdout.on("data", (d: Buffer) => (out += d.toString()));
  npm.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)));
  return { npm, out: () => out, exited };
}

async function untilPrinted(demo: Demo, text: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!demo.out().includes(text)) {
    if (demo.npm.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not print ${JSON.stringify(text)}:\n${demo.out()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every process below `pid` (children, grandchildren, …). */
function descendants(pid: number): number[] {
  let children: number[];
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").map(Number).filter((n) => n > 0);
  } catch {
    children = []; // ps exits 1 when there are none
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const printed = (out: string, label: string) => new RegExp(`${label}\\s+(http://\\S+)`).exec(out)![1]!;
const exported = (out: string, name: string) => new RegExp(`export ${name}=(\\S+)`).exec(out)![1]!;

async function gql(url: string, token: string, query: string): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
  return res.json();
}

const dataDir = mkdtempSync(join(tmpdir(), "agentgate-demo-"));
let env: Record<string, string>;
const running: Demo[] = [];

beforeAll(async () => {
  // Fixed issuer port (a token names its issuer); everything else on free ports.
  env = {
    AGENTGATE_DEMO_DIR: dataDir,
    AGENTGATE_PROXY_PORT: "0",
    AGENTGATE_CP_HTTP_PORT: "0",
    AGENTGATE_CP_GRPC_PORT: "0",
    AGENTGATE_DEMO_ISSUER_PORT: String(await freePort()),
  };
});
afterAll(async () => {
  for (const d of running) if (d.npm.exitCode === null) d.npm.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

test("npm start: every role's token works, a second start changes nothing, SIGTERM stops all, tokens survive a restart", async () => {
  const first = npmStart(env);
  running.push(first);
  await untilPrinted(first, "Ctrl-C stops everything");
  const out = first.out();
  const proxy = printed(out, "Proxy \\(LangGraph API, give this to clients\\)");
  const graphql = printed(out, "Control plane GraphQL \\(admin API\\)");
  const tokens = Object.fromEntries(["MEMBER", "APPROVER", "AUDITOR", "ADMIN"].map((r) => [r, exported(out, `${r}_TOKEN`)]));

  // The admin API accepts the demo issuer: each role gets its scopes.
  const scopes = async (role: string) => (await gql(graphql, tokens[role]!, "{ viewer { scopes } }")).data?.viewer?.scopes;
  expect(await scopes("ADMIN")).toEqual(["READ", "WRITE", "AUDIT", "APPROVE"]);
  expect(await scopes("AUDITOR")).toEqual(["READ", "AUDIT"]);
  expect(await scopes("APPROVER")).toEqual(["APPROVE"]);
  expect(await scopes("MEMBER")).toEqual([]);
  const run = () =>
    fetch(`${proxy}/runs/wait`, { method: "POST", headers: { authorization: `Bearer ${tokens["MEMBER"]}`, "content-type": "application/json" }, body: JSON.stringify({ assistant_id: "echo", input: { text: "hi" } }) });
  expect((await run()).status).toBe(200);
  const policyBefore = readFileSync(join(dataDir, "policy.yaml"), "utf8");

  // A second start on the same folder: one clear line, non-zero exit, the first untouched.
  const second = npmStart(env);
  running.push(second);
  expect(await second.exited).not.toBe(0);
  expect(second.out()).toMatch(/a demo is already running from .* \(pid \d+, proxy http:\/\/127\.0\.0\.1:\d+/);
  expect(second.out()).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  expect(readFileSync(join(dataDir, "policy.yaml"), "utf8")).toBe(policyBefore);
  expect((await run()).status).toBe(200);
  expect(await scopes("ADMIN")).toEqual(["READ", "WRITE", "AUDIT", "APPROVE"]);

  // SIGTERM to npm reaches every child: none is left holding a port.
  expect(await stopAndListSurvivors(first, "SIGTERM")).toEqual([]);

  // Restart: the tokens printed by the first run still work (issuer keys persisted).
  const again = npmStart(env);
  running.push(again);
  await untilPrinted(again, "Ctrl-C stops everything");
  const graphql2 = printed(again.out(), "Control plane GraphQL \\(admin API\\)");
  expect((await gql(graphql2, tokens["ADMIN"]!, "{ viewer { scopes } }")).data?.viewer?.scopes).toEqual(["READ", "WRITE", "AUDIT", "APPROVE"]);
  expect(await stopAndListSurvivors(again, "SIGINT")).toEqual([]);
}, 300_000);

/** Signals npm, waits for it, and returns the processes it had started that still run. */
async function stopAndListSurvivors(demo: Demo, signal: NodeJS.Signals): Promise<number[]> {
  const children = descendants(demo.npm.pid!);
  expect(children.length).toBeGreaterThanOrEqual(4); // demo, upstream, control plane, proxy
  demo.npm.kill(signal);
  await demo.exited;
  const deadline = Date.now() + 30_000;
  while (children.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return children.filter(alive);
}
