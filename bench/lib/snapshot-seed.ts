/**
 * Seeding for the snapshot bench: a small realistic policy (one issuer, a few roles, two
 * connections, a masking profile, a few policies) applied through the real policy-file path,
 * then N role bindings bulk-inserted with `createMany` — half group bindings, half identity
 * bindings each with its own Identity row — so `buildSnapshot` has N bindings to read.
 */
import type { Db } from "../../control-plane/store/client.js";
import type { SecretBox } from "../../control-plane/secrets.js";
import type { PolicyDocument } from "../../control-plane/policy-file/document.js";
import { applyPolicyDocument } from "../../control-plane/policy-file/apply.js";
import { principal } from "../../control-plane/auth/principal.js";
import { SCOPES } from "../../control-plane/auth/scopes.js";
import { createUuidV7 } from "../../data-plane/recording/uuidv7.js";

/** Environment variable the bench policy's connections read their (fake) credential from. */
export const BENCH_CREDENTIAL_ENV = "AGENTGATE_UPSTREAM_BENCH_SNAPSHOT_KEY";
/** Issuer of the seeded bindings and identities in the compile bench. */
export const BENCH_ISSUER = "https://idp.bench.example";
/** Roles of the compile bench's policy; bindings are spread over them round-robin. */
export const BENCH_ROLES = ["bench-role-0", "bench-role-1", "bench-role-2", "bench-role-3"] as const;

// Rows per createMany: well under SQLite's 32,766 bound variables (7 columns per identity).
const CHUNK = 2_000;

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
  /** Total bindings: ⌈count/2⌉ group bindings, ⌊count/2⌋ identity bindings (each with a new Identity). */
  count: number;
  /** Issuer of the group bindings and of the identities. */
  issuer: string;
  /** Role names the bindings are spread over (created when missing). */
  roles: readonly string[];
  /** Distinguishes the subjects and groups of several seedings of one database. */
  prefix?: string;
}

/** Runs `insert` over `rows` in chunks of {@link CHUNK}. */
async function inChunks<T>(rows: readonly T[], insert: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await insert(rows.slice(i, i + CHUNK));
}

/**
 * Bulk-inserts role bindings (and the identities they name) with `createMany`. Does not
 * bump the snapshot version: the caller's next policy-affecting write (or `buildSnapshot`
 * directly) picks them up. Ids are UUIDv7 like the application's own.
 */
export async function seedBindings(db: Db, opts: SeedOptions): Promise<void> {
  const uuid = createUuidV7();
  const prefix = opts.prefix ?? "bench";
  const roleIds: string[] = [];
  for (const name of opts.roles) roleIds.push((await db.role.upsert({ where: { name }, create: { name }, update: {}, select: { id: true } })).id);
  const roleAt = (i: number): string => roleIds[i % roleIds.length]!;

  const identityCount = Math.floor(opts.count / 2);
  const groupCount = opts.count - identityCount;
  const identities = Array.from({ length: identityCount }, (_, i) => ({
    id: uuid(),
    issuer: opts.issuer,
    subject: `${prefix}-user-${i}`,
    email: `${prefix}-user-${i}@bench.example`,
    groups: [],
  }));
  await inChunks(identities, (data) => db.identity.createMany({ data }));

  const bindings = [
    ...Array.from({ length: groupCount }, (_, i) => ({ id: uuid(), roleId: roleAt(i), issuer: opts.issuer, group: `${prefix}-group-${i}` })),
    ...identities.map((identity, i) => ({ id: uuid(), roleId: roleAt(i), identityId: identity.id })),
  ];
  await inChunks(bindings, (data) => db.roleBinding.createMany({ data }));
}
