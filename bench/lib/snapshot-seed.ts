/**
 * Seeding for the snapshot bench: a small realistic policy (one issuer, a few roles, two
 * connections, a masking profile, a few policies) applied through the real policy-file path,
 * then N role bindings — half group bindings, half identity bindings each with its own
 * Identity row — through that same path (bulk), so `buildSnapshot` has N bindings to read.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "../../demo/service-process.js";
import type { Db } from "../../control-plane/store/client.js";
import type { SecretBox } from "../../control-plane/secrets.js";
import type { PolicyDocument } from "../../control-plane/policy-file/document.js";
import { applyPolicyDocument } from "../../control-plane/policy-file/apply.js";
import { principal } from "../../control-plane/auth/principal.js";
import { SCOPES } from "../../control-plane/auth/scopes.js";

/** Environment variable the bench policy's connections read their (fake) credential from. */
export const BENCH_CREDENTIAL_ENV = "AGENTGATE_UPSTREAM_BENCH_SNAPSHOT_KEY";
/** Issuer of the seeded bindings and identities in the compile bench. */
export const BENCH_ISSUER = "https://idp.bench.example";
/** Roles of the compile bench's policy; bindings are spread over them round-robin. */
export const BENCH_ROLES = ["bench-role-0", "bench-role-1", "bench-role-2", "bench-role-3"] as const;

/**
 * The base policy of the compile bench: roles without bindings (those are seeded in bulk),
 * two connections, one masking profile and five policies with limits and a denylist, so the
 * proxy compiles globs, regexes and masking rules as it would for a real configuration.
 */
export function benchPolicyDocument(): PolicyDocument {
  const connection = (name: string) => ({ name, baseUrl: `http://127.0.0.1:9/${name}`, credentialEnv: BENCH_CREDENTIAL_ENV });
  return {
    identityProviders: [{ issuer: BENCH_ISSUER, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: BENCH_ROLES.map((name) => ({ name, bindings: [] })),
    connections: [connection("lg-a"), connection("lg-b")],
    maskingProfiles: [
      {
        name: "pii",
        rules: [
          { kind: "detector", match: "email", style: "redact" },
          { kind: "key", match: "password", style: "redact" },
          { kind: "regex", match: "\\bACCT-[0-9]{6}\\b", style: "redact", label: "account" },
        ],
      },
    ],
    policies: [
      { name: "p0-all", role: "bench-role-0", connection: "lg-a", graphs: ["*"], operations: ["*"] },
      { name: "p1-runs", role: "bench-role-1", connection: "lg-a", graphs: ["echo", "slow-*"], operations: ["runs:*", "threads:*", "assistants:read"], maskingProfile: "pii", limits: { requestsPerMinute: 120, burst: 30, concurrentRuns: 4 } },
      { name: "p2-read", role: "bench-role-2", connection: "lg-a", graphs: ["*"], operations: ["assistants:*", "threads:read"], denylist: [{ pattern: "ignore (all )?previous instructions", message: "prompt injection" }] },
      { name: "p3-b", role: "bench-role-3", connection: "lg-b", graphs: ["report-*"], operations: ["runs:wait", "runs:stream"], limits: { costBudgetPerDay: 50, costPerRun: { "*": 0.1 } } },
      { name: "p4-b-approval", role: "bench-role-1", connection: "lg-b", graphs: ["payout"], operations: ["runs:*"], approval: { required: true, approverRoles: ["bench-role-0"], grantTtlSeconds: 600, grantUses: 1 } },
    ],
  };
}

/** Applies {@link benchPolicyDocument} in one transaction, as `agentgate apply` would. */
export async function applyBenchPolicy(db: Db, secrets: SecretBox): Promise<void> {
  process.env[BENCH_CREDENTIAL_ENV] ??= "bench-upstream-key";
  const deps = { db, secrets, refreshSnapshot: async () => {}, allowHttpIssuers: "never" as const };
  await applyPolicyDocument(deps, principal("bootstrap", "bench", SCOPES), benchPolicyDocument());
}

/** Options of {@link seedBindings}. */
export interface SeedOptions {
  /** Total bindings: ⌈count/2⌉ group bindings, ⌊count/2⌋ identity bindings (identities created by the apply). */
  count: number;
  /** Issuer of the group bindings and of the identities. */
  issuer: string;
  /** Role names the bindings are spread over (created when missing). */
  roles: readonly string[];
  /** Distinguishes the subjects and groups of several seedings of one database. */
  prefix?: string;
}

/** The roles of `opts` with their bindings, spread round-robin, as a policy file lists them. */
export function seedRoles(opts: SeedOptions): PolicyDocument["roles"] {
  const prefix = opts.prefix ?? "bench";
  const roles = opts.roles.map((name) => ({ name, bindings: [] as PolicyDocument["roles"][number]["bindings"] }));
  const identityCount = Math.floor(opts.count / 2);
  const groupCount = opts.count - identityCount;
  for (let i = 0; i < groupCount; i++) roles[i % roles.length]!.bindings.push({ issuer: opts.issuer, group: `${prefix}-group-${i}` });
  for (let i = 0; i < identityCount; i++) roles[i % roles.length]!.bindings.push({ issuer: opts.issuer, subject: `${prefix}-user-${i}` });
  return roles;
}

/** The policy file (YAML) that gives `opts.roles` exactly the seeded bindings; `count: 0` empties them. */
export function seedPolicyYaml(opts: SeedOptions): string {
  const lines = ["roles:"];
  for (const role of seedRoles(opts)) {
    lines.push(`  - name: ${JSON.stringify(role.name)}`, "    bindings:" + (role.bindings.length ? "" : " []"));
    for (const b of role.bindings) lines.push(`      - { issuer: ${JSON.stringify(b.issuer)}, ${"group" in b ? `group: ${JSON.stringify(b.group)}` : `subject: ${JSON.stringify(b.subject)}`} }`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Seeds role bindings through the policy-file path (applyPolicyDocument: what the
 * bootstrap, GraphQL `applyPolicyFile` and `agentgate apply` run), one audited change, and
 * publishes nothing itself: the control plane's next refresh picks the version up.
 */
export async function seedBindings(db: Db, secrets: SecretBox, opts: SeedOptions): Promise<void> {
  const deps = { db, secrets, refreshSnapshot: async () => {}, allowHttpIssuers: "never" as const };
  await applyPolicyDocument(deps, principal("bootstrap", "bench", SCOPES), { identityProviders: [], roles: seedRoles(opts), connections: [], maskingProfiles: [], policies: [] });
}

/** What {@link applyWithCli} measured. */
export interface CliApplyResult {
  /** Wall time of the `agentgate apply` process, from spawn to exit. */
  ms: number;
  /** Size of the policy file. */
  bytes: number;
  /** The CLI's progress lines (stderr). */
  progress: string[];
}

/**
 * Writes `yaml` to a temp file and runs the real CLI on it in its own process
 * (`agentgate apply <file>` against `graphqlUrl` with `token`): the path an operator uses.
 * Throws with the CLI's output when it exits non-zero.
 */
export async function applyWithCli(graphqlUrl: string, token: string, yaml: string, onProgress?: (line: string) => void): Promise<CliApplyResult> {
  const dir = mkdtempSync(join(tmpdir(), "agentgate-bench-apply-"));
  const file = join(dir, "policy.yaml");
  writeFileSync(file, yaml);
  const t0 = performance.now();
  try {
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "control-plane/cli/main.ts"), "apply", file], {
      env: { ...process.env, AGENTGATE_URL: graphqlUrl, AGENTGATE_TOKEN: token },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const progress: string[] = [];
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    createInterface({ input: child.stderr }).on("line", (line) => {
      progress.push(line);
      onProgress?.(line);
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    if (code !== 0) throw new Error(`agentgate apply exited ${code}: ${progress.join(" | ")} ${stdout.slice(-500)}`);
    return { ms: performance.now() - t0, bytes: Buffer.byteLength(yaml), progress };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
