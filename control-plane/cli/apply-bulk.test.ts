import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { startGraphqlHarness, type GraphqlHarness } from "../graphql/testing/harness.js";
import { MAX_GRAPHQL_BODY } from "../http/graphql-handler.js";
import { runCli } from "./main.js";
import { captureCli } from "../../test/helpers/cli.js";

/**
 * Issue 18: a policy file of 50,000 bindings through the real path — `agentgate apply`
 * (in-process, over HTTP) → GraphQL `applyPolicyFile` → the admin apply → the database —
 * on both databases. Effects are read from the database and the published snapshot.
 */
const SLOW = 600_000;

const BOOTSTRAP = randomBytes(32).toString("hex");
const ISSUER = "https://idp.bulk.example";
const COUNT = 50_000;
const dir = mkdtempSync(join(tmpdir(), "agentgate-bulk-"));

type Binding = { issuer: string; group?: string; subject?: string };
const key = (b: { issuer: string | null; group?: string | null; subject?: string | null }) => (b.subject ? `subject ${b.issuer} ${b.subject}` : `group ${b.issuer} ${b.group}`);

/** Half group bindings, half identity bindings. */
function bindings(from: number, to: number): Binding[] {
  return Array.from({ length: to - from }, (_, i) => (i % 2 ? { issuer: ISSUER, subject: `user-${from + i}` } : { issuer: ISSUER, group: `group-${from + i}` }));
}

function policyFile(name: string, role: string, list: Binding[]): string {
  const lines = ["roles:", `  - name: ${role}`, "    bindings:"];
  for (const b of list) lines.push(b.subject ? `      - { issuer: "${b.issuer}", subject: "${b.subject}" }` : `      - { issuer: "${b.issuer}", group: "${b.group}" }`);
  const file = join(dir, name);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

const cli = (...argv: string[]) => captureCli(runCli, argv);

withTestDatabases((db) => {
  let api: GraphqlHarness;
  const prisma = () => api.store.prisma;
  const version = async () => (await prisma().snapshotVersion.findUnique({ where: { id: 1 } }))!.version;
  const storedKeys = async (role: string) =>
    (await prisma().roleBinding.findMany({ where: { role: { name: role } }, include: { identity: true } })).map((b) => key(b.identity ?? { issuer: b.issuer, group: b.group })).sort();
  const bulkAudits = () => prisma().adminAudit.findMany({ where: { action: "role.bindings.replace" }, orderBy: { at: "asc" } });

  beforeAll(async () => {
    api = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP });
    process.env["AGENTGATE_URL"] = api.url;
    process.env["AGENTGATE_TOKEN"] = BOOTSTRAP;
  });
  afterAll(async () => {
    await api?.stop();
  });

  test(`${COUNT} bindings apply through the CLI as one audited change; a later diff touches only what changed`, async () => {
    const before = await version();
    const first = bindings(0, COUNT);
    const run = await cli("apply", policyFile("big.yaml", "bulk-role", first));
    expect(run.stderr).toContain("(100%)");
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(`update    roleBinding bulk-role: ${COUNT} bindings (${COUNT} created, 0 deleted)`);
    expect(await storedKeys("bulk-role")).toEqual(first.map(key).sort());
    expect(await prisma().identity.count({ where: { issuer: ISSUER } })).toBe(COUNT / 2);
    expect(await version()).toBe(before + 1n);
    const [audit] = await bulkAudits();
    const digest = createHash("sha256").update(first.map(key).sort().map((k) => `${k}\n`).join("")).digest("hex");
    expect(audit).toMatchObject({ snapshotVersion: before + 1n, after: { role: "bulk-role", bindings: COUNT, created: COUNT, deleted: 0, sha256: digest } });
    // The published snapshot carries every binding.
    expect(api.publisher.current()!.roleBindings.filter((b) => b.role === "bulk-role")).toHaveLength(COUNT);

    // Drop the first 1,000 and add 1,000: one more version and one more audit entry; identities are reused.
    const second = [...first.slice(1_000), ...bindings(COUNT, COUNT + 1_000)];
    const again = await cli("apply", policyFile("big2.yaml", "bulk-role", second));
    expect(again).toMatchObject({ code: 0 });
    expect(await storedKeys("bulk-role")).toEqual(second.map(key).sort());
    expect(await prisma().identity.count({ where: { issuer: ISSUER } })).toBe(COUNT / 2 + 500);
    expect(await version()).toBe(before + 2n);
    expect((await bulkAudits()).map((a) => a.after)).toEqual([expect.anything(), expect.objectContaining({ bindings: COUNT, created: 1_000, deleted: 1_000 })]);

    // The same file again changes nothing.
    const audits = await prisma().adminAudit.count();
    expect((await cli("apply", policyFile("big2.yaml", "bulk-role", second))).code).toBe(0);
    expect([await version(), await prisma().adminAudit.count()]).toEqual([before + 2n, audits]);
  }, SLOW);

  test("a bulk diff goes through the same checks: a bad binding or a reserved role without the scopes writes nothing", async () => {
    const before = [await version(), await prisma().roleBinding.count(), await prisma().adminAudit.count()];
    const bad = [...bindings(0, 300), { issuer: "ftp://idp.example", group: "g" }, { issuer: ISSUER, group: "" }];
    const run = await cli("apply", policyFile("bad.yaml", "other-role", bad));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("[BAD_USER_INPUT]");
    expect(run.stderr).toContain("group ftp://idp.example g: binding issuer: URL must be http(s)");
    expect(run.stderr).toContain("binding group: must not be empty");

    const minted = await api.gql<{ createApiToken: { secret: string } }>(`mutation { createApiToken(input: { name: "w", scopes: [WRITE] }) { secret } }`, {}, BOOTSTRAP);
    process.env["AGENTGATE_TOKEN"] = minted.data!.createApiToken.secret;
    try {
      const escalate = await cli("apply", policyFile("admin.yaml", "cp-admin", bindings(0, 300)));
      expect([escalate.code, escalate.stderr]).toEqual([1, expect.stringContaining("[FORBIDDEN]")]);
    } finally {
      process.env["AGENTGATE_TOKEN"] = BOOTSTRAP;
    }
    expect([await version(), await prisma().roleBinding.count(), await prisma().adminAudit.count() - 1]).toEqual(before); // -1: the minted token's audit row
  }, SLOW);

  test("only an authenticated applyPolicyFile may send more than 1 MiB", async () => {
    const filler = "x".repeat(MAX_GRAPHQL_BODY + 1);
    const post = (query: string, variables: object, token?: string) =>
      fetch(api.url, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query, variables }) });
    const apply = `mutation($y: String!) { applyPolicyFile(yaml: $y, dryRun: true) { dryRun } }`;
    expect((await post(apply, { y: `# ${filler}\nroles: []` })).status).toBe(413);
    expect((await post(apply, { y: `# ${filler}\nroles: []` }, "agt_not-a-token")).status).toBe(413);
    expect((await post(`query($y: String) { health { status } }`, { y: filler }, BOOTSTRAP)).status).toBe(413);
    expect((await post(`mutation($y: String!) { a: applyPolicyFile(yaml: $y, dryRun: true) { dryRun } b: applyPolicyFile(yaml: $y, dryRun: true) { dryRun } }`, { y: filler }, BOOTSTRAP)).status).toBe(413);
    const ok = await post(apply, { y: `# ${filler}\nroles: []` }, BOOTSTRAP);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ data: { applyPolicyFile: { dryRun: true } } });
  });
});

test("a policy file's aliases may not expand past its size (billion laughs)", async () => {
  const { parsePolicyDocument } = await import("../policy-file/document.js");
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
  expect(() => parsePolicyDocument(`${levels.join("\n")}\nroles: []\n`)).toThrow(/aliases expand too far/);
  // A modest alias is fine (and then refused for its unknown keys, by the schema).
  expect(() => parsePolicyDocument(`ops: &ops [runs:wait]\nroles: []\n`)).toThrow(/ops/);
});

test("a list longer than the engine's argument limit parses (200,000 bindings)", async () => {
  const { parsePolicyDocument } = await import("../policy-file/document.js");
  const lines = ["roles:", "  - name: huge", "    bindings:"];
  for (let i = 0; i < 200_000; i++) lines.push(`      - { issuer: "${ISSUER}", group: "g${i}" }`);
  expect(parsePolicyDocument(lines.join("\n")).roles[0]!.bindings).toHaveLength(200_000);
});
