import { create } from "@bufbuild/protobuf";
import {
  ApprovalRuleSchema,
  LimitsSchema,
  RoleBindingSchema,
  SnapshotSchema,
  type ApprovalRule,
  type RoleBinding,
  type GatewayKey,
  type Limits,
  type Snapshot,
} from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { Db, Tx } from "../store/client.js";
import { jsonRecord, jsonRecords, jsonStringMap, jsonStrings } from "../admin/json.js";
import type { SecretBox } from "../secrets.js";
import { UNSPENT } from "../approvals/service.js";
import type { NarrowCollection, RestCollection } from "./change-hints.js";

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

/** Policy.limits JSON (camelCase, as the admin API writes it) → Limits message. */
export function limitsFromJson(json: unknown): Limits {
  const l = jsonRecord(json);
  const costPerRun: Record<string, number> = {};
  for (const [graph, cost] of Object.entries(jsonRecord(l["costPerRun"]))) costPerRun[graph] = num(cost);
  return create(LimitsSchema, {
    requestsPerMinute: Math.floor(num(l["requestsPerMinute"])),
    burst: Math.floor(num(l["burst"])),
    concurrentRuns: Math.floor(num(l["concurrentRuns"])),
    costBudgetPerDay: num(l["costBudgetPerDay"]),
    maxBodyBytes: BigInt(Math.floor(num(l["maxBodyBytes"]))),
    maxRecursionLimit: Math.floor(num(l["maxRecursionLimit"])),
    costPerRun,
    costPer1kTokens: num(l["costPer1kTokens"]),
    maxCostPerRun: num(l["maxCostPerRun"]),
  });
}

/** Policy.approval JSON → ApprovalRule message. */
export function approvalFromJson(json: unknown): ApprovalRule {
  const a = jsonRecord(json);
  return create(ApprovalRuleSchema, {
    required: a["required"] === true,
    approverRoles: jsonStrings(a["approverRoles"]),
    grantTtlSeconds: Math.floor(num(a["grantTtlSeconds"])),
    grantUses: Math.floor(num(a["grantUses"])),
  });
}

/** Keys a snapshot carries to proxies: the upstream assertion key and the gateway keys. */
export interface SnapshotKeys {
  readonly assertionKey: string;
  readonly gatewayKeys: readonly GatewayKey[];
}

/**
 * The keys of a gateway-key generation. The generation is read from the database with the
 * rest of the snapshot (SnapshotVersion.keyGeneration), so every replica publishes the same
 * keys, whatever generation it was started with.
 */
export type KeySource = (generation: number) => SnapshotKeys;

/** Everything in a snapshot but the role bindings, as read from the database. */
export type RestRows = Awaited<ReturnType<typeof readRest>>;

/** The collections only admin commits write (see change-hints.ts): each read by itself so a build can skip an unchanged one. */
const NARROW_READERS = {
  providers: (tx: Tx) => tx.identityProvider.findMany({ orderBy: { issuer: "asc" } }),
  policies: (tx: Tx) => tx.policy.findMany({ include: { role: true }, orderBy: { name: "asc" } }),
  connections: (tx: Tx) => tx.connection.findMany({ orderBy: { name: "asc" } }),
  profiles: (tx: Tx) => tx.maskingProfile.findMany({ orderBy: { name: "asc" } }),
} satisfies Record<RestCollection, (tx: Tx) => Promise<unknown>>;

/** The version row, read first in a build's transaction. */
export const readVersionRow = (tx: Tx) => tx.snapshotVersion.findUnique({ where: { id: 1 } });

/** Reads the small collections (all but role bindings) inside `tx`. */
export async function readRest(tx: Tx, now: Date, version?: Awaited<ReturnType<typeof readVersionRow>>) {
  return {
    version: version === undefined ? await readVersionRow(tx) : version,
    providers: await NARROW_READERS.providers(tx),
    policies: await NARROW_READERS.policies(tx),
    connections: await NARROW_READERS.connections(tx),
    profiles: await NARROW_READERS.profiles(tx),
    ...(await readVolatile(tx, now)),
  };
}

// Rows that can change without a hinted commit (a grant's uses or expiry): read on every build.
async function readVolatile(tx: Tx, now: Date) {
  return {
    suspended: await tx.identity.findMany({ where: { status: "suspended" }, select: { issuer: true, subject: true } }),
    grants: await tx.approvalRequest.findMany({ where: { status: "approved", grantExpiresAt: { gt: now }, ...UNSPENT } }),
  };
}

/**
 * Like {@link readRest} given the version row, re-reading only the `changed` collections and
 * the volatile ones; the others are taken from `previous` (rows are never mutated).
 */
export async function readRestChanged(tx: Tx, now: Date, version: RestRows["version"], previous: RestRows, changed: ReadonlySet<NarrowCollection>): Promise<RestRows> {
  return {
    version,
    providers: changed.has("providers") ? await NARROW_READERS.providers(tx) : previous.providers,
    policies: changed.has("policies") ? await NARROW_READERS.policies(tx) : previous.policies,
    connections: changed.has("connections") ? await NARROW_READERS.connections(tx) : previous.connections,
    profiles: changed.has("profiles") ? await NARROW_READERS.profiles(tx) : previous.profiles,
    ...(await readVolatile(tx, now)),
  };
}

/** Only the fields a binding compiles to: loading whole rows cost ~85% of the build at 50k bindings. */
export const BINDING_SELECT = { issuer: true, group: true, role: { select: { name: true } }, identity: { select: { issuer: true, subject: true } } } as const;

/** A binding row (as selected by {@link BINDING_SELECT}) → RoleBinding message fields. */
export function bindingOf(b: { issuer: string | null; group: string | null; role: { name: string }; identity: { issuer: string; subject: string } | null }): RoleBinding {
  return create(RoleBindingSchema, b.identity
    ? { role: b.role.name, issuer: b.identity.issuer, subject: b.identity.subject, group: "" }
    : { role: b.role.name, issuer: b.issuer ?? "", group: b.group ?? "", subject: "" });
}

/** Prisma's default 5 s is too short for 100,000 bindings on a loaded machine (6.7 s seen at load 10). */
export const BUILD_TIMEOUT_MS = 120_000;

/**
 * Reads everything proxies need in one transaction (a consistent view at one version)
 * and builds the Snapshot message: providers, bindings, policies, connections with their
 * decrypted credentials, masking profiles, live approval grants, suspended identities.
 */
export async function buildSnapshot(db: Db, secrets: SecretBox, keys: KeySource, now = new Date()): Promise<Snapshot> {
  const { rest, bindings } = await db.$transaction(
    async (tx) => ({ rest: await readRest(tx, now), bindings: await tx.roleBinding.findMany({ select: BINDING_SELECT }) }),
    { timeout: BUILD_TIMEOUT_MS },
  );
  return snapshotOf(rest, bindings.map(bindingOf), secrets, keys, now);
}

/**
 * The Snapshot message of `rows` with `roleBindings`. The list is taken as is, not copied
 * (`create` copies a repeated field element by element: 15–80 ms at 500,000 bindings, per
 * change — issue 18), so the caller must not change it afterwards; builders share one list
 * between consecutive snapshots whose bindings did not change.
 */
export function snapshotOf(rows: RestRows, roleBindings: RoleBinding[], secrets: SecretBox, keySource: KeySource, now: Date): Snapshot {
  const snapshot = snapshotWithoutBindings(rows, secrets, keySource, now);
  snapshot.roleBindings = roleBindings;
  return snapshot;
}

function snapshotWithoutBindings(rows: RestRows, secrets: SecretBox, keySource: KeySource, now: Date): Snapshot {
  const keys = keySource(rows.version?.keyGeneration ?? 1);
  return create(SnapshotSchema, {
    version: rows.version?.version ?? 0n,
    createdAtMs: BigInt(now.getTime()),
    assertionKey: keys.assertionKey,
    gatewayKeys: [...keys.gatewayKeys],
    identityProviders: rows.providers.map((p) => ({
      id: p.id,
      issuer: p.issuer,
      jwksUri: p.jwksUri ?? "",
      audiences: jsonStrings(p.audiences),
      groupsClaim: p.groupsClaim,
      allowedAlgorithms: jsonStrings(p.allowedAlgorithms),
      clockToleranceSeconds: p.clockToleranceSeconds,
      groupMapping: jsonStringMap(p.groupMapping),
    })),
    policies: rows.policies.map((p) => ({
      id: p.id,
      name: p.name,
      role: p.role.name,
      connectionId: p.connectionId,
      graphs: jsonStrings(p.graphs),
      operations: jsonStrings(p.operations),
      maskingProfileId: p.maskingProfileId ?? "",
      maskRequests: p.maskRequests,
      pseudonymScope: p.pseudonymScope,
      limits: limitsFromJson(p.limits),
      denylist: jsonRecords(p.denylist).map((r, i) => ({
        id: String(r["id"] ?? `rule-${i + 1}`),
        pattern: String(r["pattern"] ?? ""),
        path: String(r["path"] ?? ""),
        message: String(r["message"] ?? ""),
      })),
      approval: approvalFromJson(p.approval),
    })),
    connections: rows.connections.map((c) => ({
      id: c.id,
      name: c.name,
      kind: c.kind,
      baseUrl: c.baseUrl,
      credentialHeader: c.credentialHeader,
      credential: c.credentialCiphertext ? secrets.decrypt(c.credentialCiphertext) : "",
      connectTimeoutMs: c.connectTimeoutMs,
      headersTimeoutMs: c.headersTimeoutMs,
      bodyTimeoutMs: c.bodyTimeoutMs,
    })),
    maskingProfiles: rows.profiles.map((m) => ({
      id: m.id,
      name: m.name,
      rules: jsonRecords(m.rules).map((rule) => ({
        kind: String(rule["kind"] ?? ""),
        match: String(rule["match"] ?? ""),
        style: String(rule["style"] ?? "redact"),
        label: String(rule["label"] ?? ""),
      })),
    })),
    grants: rows.grants.map((g) => ({
      id: g.id,
      approvalId: g.id,
      issuer: g.requesterIssuer,
      subject: g.requesterSubject,
      connectionId: g.connectionId,
      graph: g.graph,
      operation: g.operation,
      expiresAtMs: BigInt(g.grantExpiresAt!.getTime()),
      uses: g.grantUsesLeft ?? 0,
    })),
    suspendedIdentities: rows.suspended,
  });
}
