import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { requestApproval } from "../approvals/service.js";
import { startGraphqlHarness, type GraphqlHarness } from "../graphql/testing/harness.js";
import { printable, runCli } from "./main.js";
import { captureCli } from "../../test/helpers/cli.js";

/**
 * The CLI in-process against the real API (PostgreSQL): a real argument parser (flags in
 * any position, unknown flags refused before anything is sent), every problem printed,
 * hostile stored values printed inert.
 */
const BOOTSTRAP = randomBytes(32).toString("hex");
let database: TestDatabase;
let api: GraphqlHarness;
const dir = mkdtempSync(join(tmpdir(), "agentgate-cli-"));

const cli = (...argv: string[]) => captureCli(runCli, argv);

const state = async () => ({ roles: await api.store.prisma.role.count(), audit: await api.store.prisma.adminAudit.count() });

beforeAll(async () => {
  database = await createTestDatabase("postgresql");
  api = await startGraphqlHarness({ databaseUrl: database.url, bootstrapToken: BOOTSTRAP });
  process.env["AGENTGATE_URL"] = api.url;
  process.env["AGENTGATE_TOKEN"] = BOOTSTRAP;
});
afterAll(async () => {
  await api?.stop();
  await database?.drop();
});

test("apply: --dry-run before or after the file; a mistyped flag is refused and nothing is applied", async () => {
  const file = join(dir, "policy.yaml");
  writeFileSync(file, "roles: [{ name: cli-role }]\n");
  const before = await state();
  for (const argv of [["apply", "--dry-run", file], ["apply", file, "--dry-run"]]) {
    const run = await cli(...argv);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain("create    role cli-role");
    expect(run.stdout).toContain("dry run: nothing was written");
  }
  expect(await state()).toEqual(before);
  for (const argv of [["apply", file, "--dry-rnu"], ["apply", "--dryrun", file], ["apply"], ["sessions", "list", "--limit", "x"], ["nope"]]) {
    expect((await cli(...argv)).code).toBe(2);
  }
  expect(await state()).toEqual(before);
  const real = await cli("apply", file);
  expect(real.code).toBe(0);
  expect(real.stdout).toMatch(/snapshot version \d+/);
  expect((await state()).roles).toBe(before.roles + 1);
});

test("every problem the API returned is printed, not just 'invalid input'", async () => {
  const file = join(dir, "bad.yaml");
  writeFileSync(file, 'policies: [{ name: p, role: nobody, connection: nowhere, graphs: ["*"], operations: ["runs:wait"], limits: { burst: -1 } }]\n');
  const run = await cli("apply", file);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain("[BAD_USER_INPUT]");
  for (const p of ["limits.burst", 'unknown role "nobody"', 'unknown connection "nowhere"']) expect(run.stderr).toContain(p);
});

test("stored values with terminal escapes are printed inert", async () => {
  const connection = await api.store.prisma.connection.create({ data: { name: "c1", kind: "langgraph", baseUrl: "https://lg.example", credentialHeader: "x-api-key" } });
  const evil = "\u001b[2J\u001b[Hevil\u0007\r\nfake line\u202e";
  await requestApproval(api.store.prisma, { proxyId: "p", issuer: "https://idp.example", subject: evil, email: "", connectionId: connection.id, graph: evil, operation: "runs:wait", parametersJson: "{}", reason: "", policyId: "" });
  const run = await cli("approvals", "list");
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("\\u001b[2J");
  // eslint-disable-next-line no-control-regex
  expect(run.stdout.replace(/\n/g, "")).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  expect(run.stdout.trim().split("\n")).toHaveLength(1);
  expect(printable("a\tb")).toBe("a\tb");
});

describe("sessions tail (the real command, as a process)", () => {
  const id = (n: number) => `01900000-0000-7000-8000-${String(n).padStart(12, "0")}`;
  let seq = 1000;
  const insert = (n: number, subject = "tail-alice") =>
    api.store.prisma.session.create({
      data: {
        id: id(n),
        proxyId: "tail-proxy",
        seq: BigInt(++seq),
        prevHash: "x",
        hash: `h${seq}`,
        startedAt: new Date(Date.UTC(2026, 10, 25, 12, 0, 0) + n),
        durationMs: 1,
        requestId: `tail-${n}`,
        issuer: "https://idp.example",
        subject,
        groups: [],
        decision: "allow",
        reasons: [],
        snapshotVersion: 1n,
        method: "POST",
        path: "/runs/wait",
        status: 200,
        bytesIn: 0n,
        bytesOut: 0n,
        maskCounts: {},
      },
    });

  test("prints only sessions recorded after it started, each once, in order, through the filter; never the older ones", async () => {
    for (const n of [1, 2]) await insert(n);
    const child = spawn(process.execPath, ["--import", "tsx", "control-plane/cli/main.ts", "sessions", "tail", "--interval", "50", "--subject", "tail-alice"], {
      env: { ...process.env, AGENTGATE_URL: api.url, AGENTGATE_TOKEN: BOOTSTRAP },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const printed = () => [...stdout.matchAll(/01900000-0000-7000-8000-(\d{12})/g)].map((m) => Number(m[1]));
    const until = async (done: () => boolean, step: () => Promise<unknown> = async () => {}) => {
      for (let i = 0; i < 600 && !done(); i++) {
        if (child.exitCode !== null) throw new Error(`tail exited ${child.exitCode}: ${stderr}`);
        await step();
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!done()) throw new Error(`tail printed ${JSON.stringify(printed())}; stderr ${stderr}`);
    };
    try {
      // Until tail has taken its starting point, a new session may count as "before": insert
      // one per step until tail prints one (no timing assumption about the process start).
      let n = 10;
      await until(() => printed().length > 0, () => insert(n++));
      const last = n - 1;
      // Then a burst larger than one page, with another subject's sessions in between.
      for (let k = 0; k < 60; k++) await insert(100 + k, k % 10 === 0 ? "tail-bob" : "tail-alice");
      const wanted = Array.from({ length: 60 }, (_, k) => 100 + k).filter((k) => (k - 100) % 10 !== 0);
      await until(() => wanted.every((w) => printed().includes(w)));
      const seen = printed();
      expect(seen).not.toContain(1);
      expect(seen).not.toContain(2);
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(seen.filter((s) => s >= 100)).toEqual(wanted);
      expect(seen.every((s) => s >= 10 && (s <= last || s >= 100))).toBe(true);
      expect(stderr).toBe("");
    } finally {
      child.kill("SIGTERM");
    }
  }, 60_000);
});
