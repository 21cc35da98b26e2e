/**
 * Applies a policy file as a DIFF through the admin services — the same functions the
 * GraphQL mutations call, with the same validation, defaults, scope checks (reserved roles)
 * and audit rows — in one transaction (commitBatch). Nothing here writes a table itself.
 *
 * Each listed object is created or updated by name; a role's listed bindings become its
 * bindings: missing ones are bound, others unbound (each reported as its own change, and
 * each through the service that checks the caller may change that role). Objects the file
 * does not list are left alone. Omitted optional fields take the services' defaults.
 */
import { commitBatch } from "../admin/commit.js";
import { readCredentialEnv } from "../admin/credential-env.js";
import type { AdminDeps } from "../admin/deps.js";
import { createConnection, updateConnection } from "../admin/connections.js";
import { createIdentityProvider, updateIdentityProvider } from "../admin/identity-providers.js";
import { createMaskingProfile, updateMaskingProfile } from "../admin/masking-profiles.js";
import { createPolicy, updatePolicy } from "../admin/policies.js";
import { bindRoleToGroup, bindRoleToIdentity, deleteRoleBinding } from "../admin/role-bindings.js";
import { createRole, updateRole } from "../admin/roles.js";
import type { Principal } from "../auth/principal.js";
import { CpError, badInput } from "../errors.js";
import type { PolicyDocument } from "./document.js";
import { applyBulkBindings, bindingKey, BULK_BINDING_THRESHOLD, fileBindingProblems } from "./bulk-bindings.js";

/** One change a policy file makes (or would make, in a dry run). */
export interface PolicyChange {
  kind: "identityProvider" | "role" | "roleBinding" | "connection" | "maskingProfile" | "policy";
  name: string;
  action: "create" | "update" | "delete" | "unchanged";
}

/** What applying a policy file did. */
export interface ApplyResult {
  changes: PolicyChange[];
  /** The snapshot version after the apply (in a dry run: the one it would produce). */
  version: bigint;
  dryRun: boolean;
}

/** Collects changes and the input problems of every object (so a file reports all problems at once). */
class Diff {
  readonly changes: PolicyChange[] = [];
  readonly problems: string[] = [];
  /** `audits`: the batch's audit entries; a write that adds none changed nothing. */
  constructor(private readonly audits: readonly unknown[]) {}

  /**
   * Runs one service write and records what it did: `action` when it wrote something
   * (create, update, delete), "unchanged" when not. Input problems are collected under the
   * object's name; refusals (FORBIDDEN, CONFLICT) abort the whole file.
   */
  async write(kind: PolicyChange["kind"], name: string, action: Exclude<PolicyChange["action"], "unchanged">, run: () => Promise<unknown>): Promise<void> {
    const before = this.audits.length;
    try {
      await run();
    } catch (err) {
      if (err instanceof CpError && err.code === "BAD_USER_INPUT") {
        const problems = err.problems.length > 0 ? err.problems : [err.message];
        this.problems.push(...problems.map((p) => `${kind} ${name}: ${p}`));
        return;
      }
      throw err;
    }
    this.changes.push({ kind, name, action: this.audits.length !== before ? action : "unchanged" });
  }
}

/**
 * The apply transaction's deadline, sized by the work: 60 s for the objects plus 2 ms per
 * binding (measured: 0.08 ms per binding on PostgreSQL, 0.15 ms on SQLite, at load 11-14 on a 2-CPU
 * machine, so ≥ 13× headroom; 100,000 bindings → 260 s). A fixed bound would make a large
 * but valid file fail halfway, after minutes of work, as the 30 s one did. `existing` = the
 * bindings the file's roles hold now: removing them is work too (emptying a 500,000-binding
 * role timed out at 60 s under load, issue 18).
 */
export function applyTimeoutMs(doc: PolicyDocument, existing = 0): number {
  return 60_000 + 2 * (doc.roles.reduce((n, r) => n + r.bindings.length, 0) + existing);
}

/** Applies `doc` for `by` (dry run: computes everything, writes nothing). */
export async function applyPolicyDocument(deps: AdminDeps, by: Principal, doc: PolicyDocument, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
  const dryRun = opts.dryRun === true;
  const existing = doc.roles.length === 0 ? 0 : await deps.db.roleBinding.count({ where: { role: { name: { in: doc.roles.map((r) => r.name) } } } });
  const committed = await commitBatch(deps, by.actor, { dryRun, timeoutMs: applyTimeoutMs(doc, existing) }, async (d) => {
    const tx = d.batch!.tx;
    const diff = new Diff(d.batch!.audits);
    const upsert = (kind: PolicyChange["kind"], name: string, id: string | undefined, update: (id: string) => Promise<unknown>, create: () => Promise<unknown>) =>
      diff.write(kind, name, id === undefined ? "create" : "update", () => (id === undefined ? create() : update(id)));

    for (const p of doc.identityProviders) {
      const input = {
        issuer: p.issuer,
        jwksUri: p.jwksUri ?? null,
        audiences: p.audiences ?? null,
        groupsClaim: p.groupsClaim ?? null,
        allowedAlgorithms: p.allowedAlgorithms ?? null,
        clockToleranceSeconds: p.clockToleranceSeconds ?? null,
        groupMapping: p.groupMapping ?? null,
      };
      const row = await tx.identityProvider.findUnique({ where: { issuer: p.issuer }, select: { id: true } });
      await upsert("identityProvider", p.issuer, row?.id, (id) => updateIdentityProvider(d, by, id, input), () => createIdentityProvider(d, by, input));
    }

    for (const r of doc.roles) {
      const input = { name: r.name, description: r.description ?? null };
      const row = await tx.role.findUnique({ where: { name: r.name }, select: { id: true } });
      await upsert("role", r.name, row?.id, (id) => updateRole(d, by, id, input), () => createRole(d, by, input));
    }

    for (const c of doc.connections) {
      let credential: string | undefined;
      if (c.credentialEnv !== undefined) {
        const read = readCredentialEnv(c.credentialEnv, deps.credentialEnvAllow ?? []);
        if ("problem" in read) {
          diff.problems.push(`connection ${c.name}: ${read.problem}`);
          continue;
        }
        credential = read.value;
      }
      const input = {
        name: c.name,
        baseUrl: c.baseUrl,
        credentialHeader: c.credentialHeader ?? null,
        connectTimeoutMs: c.connectTimeoutMs ?? null,
        headersTimeoutMs: c.headersTimeoutMs ?? null,
        bodyTimeoutMs: c.bodyTimeoutMs ?? null,
        ...(credential === undefined ? {} : { credential }),
      };
      const row = await tx.connection.findUnique({ where: { name: c.name }, select: { id: true } });
      await upsert("connection", c.name, row?.id, (id) => updateConnection(d, by, id, input), () => createConnection(d, by, input));
    }

    for (const m of doc.maskingProfiles) {
      const input = { name: m.name, description: m.description ?? null, rules: m.rules };
      const row = await tx.maskingProfile.findUnique({ where: { name: m.name }, select: { id: true } });
      await upsert("maskingProfile", m.name, row?.id, (id) => updateMaskingProfile(d, by, id, input), () => createMaskingProfile(d, by, input));
    }

    for (const p of doc.policies) {
      const input = {
        name: p.name,
        description: p.description ?? null,
        role: p.role,
        connection: p.connection,
        graphs: p.graphs,
        operations: p.operations,
        maskingProfile: p.maskingProfile ?? null,
        maskRequests: p.maskRequests ?? null,
        pseudonymScope: p.pseudonymScope ?? null,
        limits: p.limits ?? null,
        denylist: p.denylist ?? null,
        approval: p.approval ?? null,
      };
      const row = await tx.policy.findUnique({ where: { name: p.name }, select: { id: true } });
      await upsert("policy", p.name, row?.id, (id) => updatePolicy(d, by, id, input), () => createPolicy(d, by, input));
    }

    // Bindings last: a role the file creates exists by now (if its input was valid).
    for (const r of doc.roles) {
      const role = await tx.role.findUnique({ where: { name: r.name }, select: { id: true, name: true } });
      if (!role) continue;
      const rows = await tx.roleBinding.findMany({ where: { roleId: role.id }, select: { id: true, issuer: true, group: true, identity: { select: { issuer: true, subject: true } } } });
      const wanted = new Map(r.bindings.map((b) => [bindingKey(b), b]));
      const existing = new Map(rows.map((b) => [bindingKey(b.identity ?? { issuer: b.issuer ?? "", group: b.group }), b]));
      const remove = [...existing].filter(([k]) => !wanted.has(k)).map(([key, b]) => ({ key, id: b.id }));
      const add = [...wanted].filter(([k]) => !existing.has(k)).map(([, b]) => b);
      if (remove.length + add.length > BULK_BINDING_THRESHOLD) {
        const problems = add.flatMap((b) => fileBindingProblems(b).map((p) => `roleBinding ${r.name}: ${bindingKey(b)}: ${p}`));
        if (problems.length > 0) {
          diff.problems.push(...problems);
          continue;
        }
        const bulk = await applyBulkBindings(tx, by, role, { add, remove, resulting: wanted.keys() });
        d.batch!.audits.push(bulk.audit);
        diff.changes.push({ kind: "roleBinding", name: `${r.name}: ${wanted.size} bindings (${bulk.created} created, ${bulk.deleted} deleted)`, action: "update" });
        continue;
      }
      for (const { key, id } of remove) await diff.write("roleBinding", `${r.name}: ${key}`, "delete", () => deleteRoleBinding(d, by, id));
      for (const b of add) {
        await diff.write("roleBinding", `${r.name}: ${bindingKey(b)}`, "create", () =>
          "subject" in b ? bindRoleToIdentity(d, by, { role: r.name, identity: { issuer: b.issuer, subject: b.subject } }) : bindRoleToGroup(d, by, { role: r.name, issuer: b.issuer, group: b.group }),
        );
      }
    }
    if (diff.problems.length > 0) throw badInput(diff.problems, "invalid policy file");
    return diff.changes;
  });
  const version = committed.snapshotVersion ?? (await deps.db.snapshotVersion.findUnique({ where: { id: 1 } }))?.version ?? 0n;
  return { changes: committed.value, version, dryRun };
}
