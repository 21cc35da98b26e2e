/**
 * Masking profiles: named, ordered rule lists that policies point at. Rules are validated
 * before they are stored (masking-rules.ts). Policy-affecting: profiles travel in the
 * snapshot.
 */
import type { Principal } from "../auth/principal.js";
import { assertNoProblems, orNotFound } from "../errors.js";
import type { Db, Tx } from "../store/client.js";
import type { MaskingProfile } from "../store/types.js";
import { nameProblems } from "../validation.js";
import { commitChange, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { assertNotUsedByPolicies, assertUnique } from "./guards.js";
import { jsonRecords } from "./json.js";
import { maskingRuleProblems, type MaskingRule } from "./masking-rules.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";
import { applyPatch, sameState, type Patch } from "./patch.js";
import { textProblems } from "./text.js";

/** A rule as given by the caller: style defaults to "redact", label to "". */
export interface MaskingRuleInput {
  readonly kind: string;
  readonly match: string;
  readonly style?: string | null | undefined;
  readonly label?: string | null | undefined;
}

/** The configurable fields of a profile. */
export interface MaskingProfileFields {
  readonly name: string;
  readonly description: string | null;
  readonly rules: readonly MaskingRule[];
}

/** A profile as the API shows it. */
export interface MaskingProfileView extends MaskingProfileFields {
  readonly id: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const DEFAULTS: MaskingProfileFields = { name: "", description: null, rules: [] };

function ruleOf(r: Record<string, unknown> | MaskingRuleInput): MaskingRule {
  return { kind: String(r.kind ?? ""), match: String(r.match ?? ""), style: String(r.style ?? "redact"), label: String(r.label ?? "") };
}

function view(row: MaskingProfile): MaskingProfileView {
  return { id: row.id, name: row.name, description: row.description, rules: jsonRecords(row.rules).map(ruleOf), createdAt: row.createdAt, updatedAt: row.updatedAt };
}

function fieldsOf(input: Patch<Omit<MaskingProfileFields, "rules">> & { rules?: readonly MaskingRuleInput[] | null | undefined }, base: MaskingProfileFields): MaskingProfileFields {
  const { rules, ...rest } = input;
  return applyPatch(base, { ...rest, ...(rules === undefined ? {} : { rules: rules === null ? null : rules.map(ruleOf) }) }, DEFAULTS);
}

function problems(f: MaskingProfileFields): string[] {
  return [...nameProblems("masking profile", f.name), ...textProblems("masking profile description", f.description), ...maskingRuleProblems(f.rules)];
}

async function assertNameFree(tx: Tx, name: string, exceptId?: string): Promise<void> {
  assertUnique(await tx.maskingProfile.findUnique({ where: { name } }), exceptId, `a masking profile named ${JSON.stringify(name)}`);
}

function dataOf(f: MaskingProfileFields) {
  return { name: f.name, description: f.description, rules: f.rules.map((r) => ({ ...r })) };
}

/** Input of create and update. */
export type MaskingProfileInput = Parameters<typeof fieldsOf>[0];

/** Lists profiles, oldest first. */
export async function listMaskingProfiles(db: Db, page: PageRequest): Promise<Page<MaskingProfileView>> {
  const { idAfter, orderBy, take } = pageArgs(page);
  return toPage(await db.maskingProfile.findMany({ where: idAfter, orderBy, take }), page, view);
}

/** One profile by id, or null. */
export async function getMaskingProfile(db: Db, id: string): Promise<MaskingProfileView | null> {
  const row = await db.maskingProfile.findUnique({ where: { id } });
  return row && view(row);
}

/** Creates a profile. */
export async function createMaskingProfile(deps: AdminDeps, by: Principal, input: MaskingProfileInput): Promise<Committed<MaskingProfileView>> {
  const fields = fieldsOf(input, DEFAULTS);
  assertNoProblems(problems(fields));
  return commitChange(deps, by.actor, "policy", async (tx) => {
    await assertNameFree(tx, fields.name);
    const row = await tx.maskingProfile.create({ data: dataOf(fields) });
    return { value: view(row), audit: [{ action: "maskingProfile.create", target: `MaskingProfile:${row.id}`, after: view(row) }] };
  });
}

/** Changes a profile; `rules`, when given, replaces the whole list. */
export async function updateMaskingProfile(deps: AdminDeps, by: Principal, id: string, input: MaskingProfileInput): Promise<Committed<MaskingProfileView>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.maskingProfile.findUnique({ where: { id } }), "masking profile");
    const current = dataOf(view(row));
    const fields = fieldsOf(input, current);
    assertNoProblems(problems(fields));
    if (sameState(current, dataOf(fields))) return { value: view(row), audit: [] };
    await assertNameFree(tx, fields.name, id);
    const updated = await tx.maskingProfile.update({ where: { id }, data: dataOf(fields) });
    return { value: view(updated), audit: [{ action: "maskingProfile.update", target: `MaskingProfile:${id}`, before: view(row), after: view(updated) }] };
  });
}

/** Deletes a profile; refused while a policy uses it. */
export async function deleteMaskingProfile(deps: AdminDeps, by: Principal, id: string): Promise<Committed<string>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.maskingProfile.findUnique({ where: { id }, include: { policies: { select: { name: true } } } }), "masking profile");
    assertNotUsedByPolicies(`masking profile ${row.name}`, row.policies);
    await tx.maskingProfile.delete({ where: { id } });
    return { value: id, audit: [{ action: "maskingProfile.delete", target: `MaskingProfile:${id}`, before: view(row) }] };
  });
}
