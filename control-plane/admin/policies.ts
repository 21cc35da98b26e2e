/**
 * Policies: role × connection → allowed graphs and operations, masking, limits, denylist
 * and approval. Deny by default: no policy, no access. References are given by name and
 * checked in the same transaction as the write. Policy-affecting, of course.
 */
import type { Principal } from "../auth/principal.js";
import { badInput, orNotFound } from "../errors.js";
import type { Db, Tx } from "../store/client.js";
import type { MaskingProfile, Policy, Role, Connection } from "../store/types.js";
import { graphProblems, nameProblems, operationProblems } from "../validation.js";
import { commitChange, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { assertUnique } from "./guards.js";
import { jsonStrings } from "./json.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";
import { applyPatch, sameState, type Patch } from "./patch.js";
import {
  NO_APPROVAL,
  NO_LIMITS,
  approvalOf,
  approvalProblems,
  denyRule,
  denylistOf,
  denylistProblems,
  limitsOf,
  limitsProblems,
  type ApprovalRule,
  type DenyRule,
  type PolicyLimits,
} from "./policy-rules.js";
import { textProblems } from "./text.js";
import { DEFAULT_PSEUDONYM_SCOPE, PSEUDONYM_SCOPES, pseudonymScopeOf, type PseudonymScope } from "../../common/masking/pseudonym-scope.js";

/** A policy as written: references by name. */
export interface PolicyFields {
  readonly name: string;
  readonly description: string | null;
  readonly role: string;
  readonly connection: string;
  readonly graphs: readonly string[];
  readonly operations: readonly string[];
  /** null: no masking profile. */
  readonly maskingProfile: string | null;
  readonly maskRequests: boolean;
  /** Which exchanges share pseudonyms (see common/masking/pseudonym-scope.ts); default "thread". */
  readonly pseudonymScope: PseudonymScope;
  readonly limits: PolicyLimits;
  readonly denylist: readonly DenyRule[];
  readonly approval: ApprovalRule;
}

/** Input of create and update: every field optional (update) and deny rule ids optional. */
export type PolicyInput = Patch<Omit<PolicyFields, "denylist" | "limits" | "approval">> & {
  readonly limits?: Nullable<PolicyLimits> | null | undefined;
  readonly denylist?: ReadonlyArray<Nullable<DenyRule> & { pattern: string }> | null | undefined;
  readonly approval?: Nullable<ApprovalRule> | null | undefined;
};

/** Every field optional; null = the default (as GraphQL and the policy file hand them). */
type Nullable<T> = { readonly [K in keyof T]?: T[K] | null | undefined };

/** A reference to another object by id and name. */
export interface NamedRef {
  readonly id: string;
  readonly name: string;
}

/** A policy as the API shows it. */
export interface PolicyView extends Omit<PolicyFields, "role" | "connection" | "maskingProfile"> {
  readonly id: string;
  readonly role: NamedRef;
  readonly connection: NamedRef;
  readonly maskingProfile: NamedRef | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

type PolicyRow = Policy & { role: Role; connection: Connection; maskingProfile: MaskingProfile | null };
const INCLUDE = { role: true, connection: true, maskingProfile: true } as const;

const DEFAULTS: PolicyFields = {
  name: "",
  description: null,
  role: "",
  connection: "",
  graphs: [],
  operations: [],
  maskingProfile: null,
  maskRequests: true,
  pseudonymScope: DEFAULT_PSEUDONYM_SCOPE,
  limits: NO_LIMITS,
  denylist: [],
  approval: NO_APPROVAL,
};

const ref = (row: { id: string; name: string }): NamedRef => ({ id: row.id, name: row.name });

function view(row: PolicyRow): PolicyView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    role: ref(row.role),
    connection: ref(row.connection),
    graphs: jsonStrings(row.graphs),
    operations: jsonStrings(row.operations),
    maskingProfile: row.maskingProfile && ref(row.maskingProfile),
    maskRequests: row.maskRequests,
    pseudonymScope: pseudonymScopeOf(row.pseudonymScope) ?? DEFAULT_PSEUDONYM_SCOPE,
    limits: limitsOf(row.limits),
    denylist: denylistOf(row.denylist),
    approval: approvalOf(row.approval),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function fieldsOfView(v: PolicyView): PolicyFields {
  const { id: _id, createdAt: _c, updatedAt: _u, ...rest } = v;
  return { ...rest, role: v.role.name, connection: v.connection.name, maskingProfile: v.maskingProfile?.name ?? null };
}

/** The desired state: `base` with the input laid over it; nested objects given are complete. */
function desired(base: PolicyFields, input: PolicyInput): PolicyFields {
  const { limits, denylist, approval, ...rest } = input;
  return applyPatch(
    base,
    {
      ...rest,
      ...(limits === undefined ? {} : { limits: limits && { ...NO_LIMITS, ...defined<PolicyLimits>(limits) } }),
      ...(approval === undefined ? {} : { approval: approval && { ...NO_APPROVAL, ...defined<ApprovalRule>(approval) } }),
      ...(denylist === undefined ? {} : { denylist: denylist && denylist.map((d, i) => denyRule(d, i)) }),
    },
    DEFAULTS,
  );
}

// GraphQL hands absent input fields as missing keys but explicit nulls as null: both mean "default" here.
function defined<T extends object>(o: Nullable<T>): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

function staticProblems(f: PolicyFields): string[] {
  const what = "policy";
  const out = [...nameProblems(what, f.name), ...textProblems("policy description", f.description)];
  out.push(...graphProblems(what, f.graphs), ...operationProblems(what, f.operations));
  if (f.graphs.length === 0) out.push("policy: graphs must list at least one graph id or glob");
  if (f.operations.length === 0) out.push("policy: operations must list at least one operation");
  if (!pseudonymScopeOf(f.pseudonymScope)) out.push(`policy: pseudonymScope must be one of ${PSEUDONYM_SCOPES.join(", ")} (got ${JSON.stringify(f.pseudonymScope)})`);
  return [...out, ...limitsProblems(f.limits), ...denylistProblems(f.denylist), ...approvalProblems(f.approval)];
}

/** Resolves the names a policy refers to; every unknown name is reported at once. */
async function references(tx: Tx, f: PolicyFields) {
  // One query at a time: a transaction runs on one connection anyway.
  const role = await tx.role.findUnique({ where: { name: f.role } });
  const connection = await tx.connection.findUnique({ where: { name: f.connection } });
  const profile = f.maskingProfile === null ? null : await tx.maskingProfile.findUnique({ where: { name: f.maskingProfile } });
  const approvers = await tx.role.findMany({ where: { name: { in: [...f.approval.approverRoles] } }, select: { name: true } });
  const problems: string[] = [];
  if (!role) problems.push(`policy: unknown role ${JSON.stringify(f.role)}`);
  if (!connection) problems.push(`policy: unknown connection ${JSON.stringify(f.connection)}`);
  if (f.maskingProfile !== null && !profile) problems.push(`policy: unknown masking profile ${JSON.stringify(f.maskingProfile)}`);
  const known = new Set(approvers.map((r) => r.name));
  for (const name of f.approval.approverRoles) if (!known.has(name)) problems.push(`approval.approverRoles: unknown role ${JSON.stringify(name)}`);
  return { problems, ids: role && connection ? { roleId: role.id, connectionId: connection.id, maskingProfileId: profile?.id ?? null } : null };
}

/**
 * The row to write, after checking the fields AND the references in one round: every
 * problem is reported at once (unknown names are not hidden behind field problems).
 */
async function columns(tx: Tx, f: PolicyFields) {
  const refs = await references(tx, f);
  const problems = [...staticProblems(f), ...refs.problems];
  if (problems.length > 0 || refs.ids === null) throw badInput(problems);
  return {
    name: f.name,
    description: f.description,
    ...refs.ids,
    graphs: [...f.graphs],
    operations: [...f.operations],
    maskRequests: f.maskRequests,
    pseudonymScope: f.pseudonymScope,
    limits: { ...f.limits, costPerRun: { ...f.limits.costPerRun } },
    denylist: f.denylist.map((d) => ({ ...d })),
    approval: { ...f.approval, approverRoles: [...f.approval.approverRoles] },
  };
}

async function assertNameFree(tx: Tx, name: string, exceptId?: string): Promise<void> {
  assertUnique(await tx.policy.findUnique({ where: { name } }), exceptId, `a policy named ${JSON.stringify(name)}`);
}

/** Filters of {@link listPolicies}. */
export interface PolicyFilter {
  readonly roleId?: string | undefined;
  readonly connectionId?: string | undefined;
}

/** Lists policies, oldest first. */
export async function listPolicies(db: Db, filter: PolicyFilter, page: PageRequest): Promise<Page<PolicyView>> {
  const { idAfter, orderBy, take } = pageArgs(page);
  const where = { AND: [idAfter, filter.roleId ? { roleId: filter.roleId } : {}, filter.connectionId ? { connectionId: filter.connectionId } : {}] };
  return toPage(await db.policy.findMany({ where, orderBy, take, include: INCLUDE }), page, view);
}

/** One policy by id, or null. */
export async function getPolicy(db: Db, id: string): Promise<PolicyView | null> {
  const row = await db.policy.findUnique({ where: { id }, include: INCLUDE });
  return row && view(row);
}

/** Creates a policy. */
export async function createPolicy(deps: AdminDeps, by: Principal, input: PolicyInput): Promise<Committed<PolicyView>> {
  const fields = desired(DEFAULTS, input);
  return commitChange(deps, by.actor, "policy", async (tx) => {
    await assertNameFree(tx, fields.name);
    const row = await tx.policy.create({ data: await columns(tx, fields), include: INCLUDE });
    return { value: view(row), audit: [{ action: "policy.create", target: `Policy:${row.id}`, after: view(row) }] };
  });
}

/** Changes a policy; `limits`, `denylist` and `approval`, when given, replace the whole part. */
export async function updatePolicy(deps: AdminDeps, by: Principal, id: string, input: PolicyInput): Promise<Committed<PolicyView>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.policy.findUnique({ where: { id }, include: INCLUDE }), "policy");
    const current = fieldsOfView(view(row));
    const fields = desired(current, input);
    if (sameState(current, fields)) return { value: view(row), audit: [] };
    await assertNameFree(tx, fields.name, id);
    const updated = await tx.policy.update({ where: { id }, data: await columns(tx, fields), include: INCLUDE });
    return { value: view(updated), audit: [{ action: "policy.update", target: `Policy:${id}`, before: view(row), after: view(updated) }] };
  });
}

/** Deletes a policy: what it allowed is denied from the next snapshot on. */
export async function deletePolicy(deps: AdminDeps, by: Principal, id: string): Promise<Committed<string>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.policy.findUnique({ where: { id }, include: INCLUDE }), "policy");
    await tx.policy.delete({ where: { id } });
    return { value: id, audit: [{ action: "policy.delete", target: `Policy:${id}`, before: view(row) }] };
  });
}
