import type { Db } from "../store/client.js";
import type { SecretBox } from "../secrets.js";
import type { PolicyDocument } from "./document.js";
import { bumpSnapshotVersion, writeAudit } from "../admin/change-log.js";

/** One change a policy file makes (or would make, in a dry run). */
export interface PolicyChange {
  kind: "identityProvider" | "role" | "connection" | "maskingProfile" | "policy";
  name: string;
  action: "create" | "update" | "unchanged";
}

/** What applying a policy file did. */
export interface ApplyResult {
  changes: PolicyChange[];
  /** The snapshot version after the apply (unchanged in a dry run or when nothing changed). */
  version: bigint;
  dryRun: boolean;
}

class DryRunRollback extends Error {
  constructor(readonly result: ApplyResult) {
    super("dry run");
  }
}

// Stable JSON for change detection (key order does not count as a change).
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

function pick(row: Record<string, unknown> | null, keys: readonly string[]): Record<string, unknown> | null {
  return row ? Object.fromEntries(keys.map((k) => [k, row[k]])) : null;
}

/**
 * Applies a validated policy file in ONE transaction: upserts by name, replaces each
 * listed role's bindings, encrypts credentials read from the environment, writes an
 * AdminAudit row per change and bumps the snapshot version once if anything changed.
 * With `dryRun` everything is computed inside the transaction and rolled back.
 */
export async function applyPolicyDocument(
  db: Db,
  secrets: SecretBox,
  doc: PolicyDocument,
  opts: { actor: string; dryRun?: boolean },
): Promise<ApplyResult> {
  try {
    return await db.$transaction(async (tx) => {
      const changes: PolicyChange[] = [];
      const audits: Array<{ action: string; target: string; before: unknown; after: unknown }> = [];
      const track = (kind: PolicyChange["kind"], name: string, target: string, before: Record<string, unknown> | null, after: Record<string, unknown>) => {
        const action = before === null ? "create" : canonical(before) === canonical(after) ? "unchanged" : "update";
        changes.push({ kind, name, action });
        if (action !== "unchanged") audits.push({ action: `${kind}.${action}`, target, before, after });
        return action;
      };

      for (const p of doc.identityProviders) {
        const data = {
          issuer: p.issuer,
          jwksUri: p.jwksUri ?? null,
          audiences: p.audiences,
          groupsClaim: p.groupsClaim ?? "groups",
          allowedAlgorithms: p.allowedAlgorithms ?? ["RS256", "ES256"],
          clockToleranceSeconds: p.clockToleranceSeconds ?? 60,
          groupMapping: p.groupMapping ?? {},
        };
        const before = await tx.identityProvider.findUnique({ where: { issuer: p.issuer } });
        if (track("identityProvider", p.issuer, `IdentityProvider:${p.issuer}`, pick(before, Object.keys(data)), data) !== "unchanged") {
          await tx.identityProvider.upsert({ where: { issuer: p.issuer }, create: data, update: data });
        }
      }

      for (const role of doc.roles) {
        const existing = await tx.role.findUnique({ where: { name: role.name }, include: { bindings: { include: { identity: true } } } });
        const before = existing && {
          description: existing.description,
          bindings: existing.bindings
            .map((b) => (b.identity ? { issuer: b.identity.issuer, subject: b.identity.subject } : { issuer: b.issuer, group: b.group }))
            .sort((a, b) => canonical(a).localeCompare(canonical(b))),
        };
        const after = {
          description: role.description ?? null,
          bindings: role.bindings
            .map((b) => (b.subject ? { issuer: b.issuer, subject: b.subject } : { issuer: b.issuer, group: b.group }))
            .sort((a, b) => canonical(a).localeCompare(canonical(b))),
        };
        if (track("role", role.name, `Role:${role.name}`, before, after) === "unchanged") continue;
        const saved = await tx.role.upsert({ where: { name: role.name }, create: { name: role.name, description: role.description ?? null }, update: { description: role.description ?? null } });
        await tx.roleBinding.deleteMany({ where: { roleId: saved.id } });
        for (const b of role.bindings) {
          if (b.subject) {
            const identity = await tx.identity.upsert({
              where: { issuer_subject: { issuer: b.issuer, subject: b.subject } },
              create: { issuer: b.issuer, subject: b.subject, groups: [] },
              update: {},
            });
            await tx.roleBinding.create({ data: { roleId: saved.id, identityId: identity.id } });
          } else {
            await tx.roleBinding.create({ data: { roleId: saved.id, issuer: b.issuer, group: b.group! } });
          }
        }
      }

      for (const c of doc.connections) {
        const existing = await tx.connection.findUnique({ where: { name: c.name } });
        const credential = c.credentialEnv ? process.env[c.credentialEnv] : undefined;
        const data = {
          name: c.name,
          kind: "langgraph",
          baseUrl: c.baseUrl,
          credentialHeader: (c.credentialHeader ?? "x-api-key").toLowerCase(),
          connectTimeoutMs: c.connectTimeoutMs ?? 5_000,
          headersTimeoutMs: c.headersTimeoutMs ?? 60_000,
          bodyTimeoutMs: c.bodyTimeoutMs ?? 300_000,
        };
        // The credential is compared decrypted, and only "set"/"changed" is audited.
        const credentialChanged = credential !== undefined && (!existing?.credentialCiphertext || secrets.decrypt(existing.credentialCiphertext) !== credential);
        const before = existing && { ...pick(existing, Object.keys(data)), credential: "set" };
        const after = { ...data, credential: credentialChanged ? "changed" : existing?.credentialCiphertext || credential ? "set" : "unset" };
        if (track("connection", c.name, `Connection:${c.name}`, before, after) === "unchanged") continue;
        const sealed = credentialChanged ? secrets.encrypt(credential!) : existing?.credentialCiphertext ?? null;
        await tx.connection.upsert({ where: { name: c.name }, create: { ...data, credentialCiphertext: sealed }, update: { ...data, credentialCiphertext: sealed } });
      }

      for (const m of doc.maskingProfiles) {
        const data = { name: m.name, description: m.description ?? null, rules: m.rules };
        const before = await tx.maskingProfile.findUnique({ where: { name: m.name } });
        if (track("maskingProfile", m.name, `MaskingProfile:${m.name}`, pick(before, Object.keys(data)), data) !== "unchanged") {
          await tx.maskingProfile.upsert({ where: { name: m.name }, create: data, update: data });
        }
      }

      for (const p of doc.policies) {
        const role = await tx.role.findUniqueOrThrow({ where: { name: p.role } });
        const connection = await tx.connection.findUniqueOrThrow({ where: { name: p.connection } });
        const profile = p.maskingProfile ? await tx.maskingProfile.findUniqueOrThrow({ where: { name: p.maskingProfile } }) : null;
        const data = {
          name: p.name,
          description: p.description ?? null,
          roleId: role.id,
          connectionId: connection.id,
          graphs: p.graphs,
          operations: p.operations,
          maskingProfileId: profile?.id ?? null,
          maskRequests: p.maskRequests ?? true,
          limits: p.limits ?? {},
          denylist: (p.denylist ?? []).map((d, i) => ({ id: d.id ?? `rule-${i + 1}`, pattern: d.pattern, path: d.path ?? "", message: d.message ?? "" })),
          approval: p.approval ?? {},
        };
        const before = await tx.policy.findUnique({ where: { name: p.name } });
        if (track("policy", p.name, `Policy:${p.name}`, pick(before, Object.keys(data)), data) !== "unchanged") {
          await tx.policy.upsert({ where: { name: p.name }, create: data, update: data });
        }
      }

      let version = (await tx.snapshotVersion.findUnique({ where: { id: 1 } }))?.version ?? 0n;
      if (audits.length > 0) {
        version = await bumpSnapshotVersion(tx);
        await writeAudit(tx, opts.actor, audits, version);
      }
      const result: ApplyResult = { changes, version, dryRun: opts.dryRun === true };
      if (opts.dryRun) throw new DryRunRollback(result);
      return result;
    }, { timeout: 30_000 });
  } catch (err) {
    if (err instanceof DryRunRollback) return err.result;
    throw err;
  }
}

