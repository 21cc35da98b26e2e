/**
 * Trusted OIDC issuers. Validated with the same strict validator the verifier uses
 * (common/identity), so a provider that is stored can always be loaded by the proxies
 * and by the admin authenticator. Policy-affecting: providers travel in the snapshot.
 */
import {
  DEFAULT_ALLOWED_ALGORITHMS,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  validateIdentityProviders,
  type HttpAllowance,
  type IdentityProviderConfig,
} from "../../common/identity/index.js";
import { assertNoProblems, orNotFound } from "../errors.js";
import type { Db, Tx } from "../store/client.js";
import type { IdentityProvider } from "../store/types.js";
import type { Principal } from "../auth/principal.js";
import { commitChange, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { jsonStringMap, jsonStrings } from "./json.js";
import { assertUnique } from "./guards.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";
import { applyPatch, sameState, type Patch } from "./patch.js";

/** The configurable fields of a provider. */
export interface IdentityProviderFields {
  readonly issuer: string;
  /** null: OIDC discovery from the issuer. */
  readonly jwksUri: string | null;
  readonly audiences: readonly string[];
  readonly groupsClaim: string;
  readonly allowedAlgorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  /** Claim value (or "@domain" of a verified email) → group. */
  readonly groupMapping: Readonly<Record<string, string>>;
}

/** A provider as the API shows it. */
export interface IdentityProviderView extends IdentityProviderFields {
  readonly id: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const DEFAULTS: IdentityProviderFields = {
  issuer: "",
  jwksUri: null,
  audiences: [],
  groupsClaim: "groups",
  allowedAlgorithms: DEFAULT_ALLOWED_ALGORITHMS,
  clockToleranceSeconds: DEFAULT_CLOCK_TOLERANCE_SECONDS,
  groupMapping: {},
};

function fieldsOf(row: IdentityProvider): IdentityProviderFields {
  return {
    issuer: row.issuer,
    jwksUri: row.jwksUri,
    audiences: jsonStrings(row.audiences),
    groupsClaim: row.groupsClaim,
    allowedAlgorithms: jsonStrings(row.allowedAlgorithms),
    clockToleranceSeconds: row.clockToleranceSeconds,
    groupMapping: jsonStringMap(row.groupMapping),
  };
}

function view(row: IdentityProvider): IdentityProviderView {
  return { id: row.id, ...fieldsOf(row), createdAt: row.createdAt, updatedAt: row.updatedAt };
}

/** The verifier's configuration of a stored provider (shared with the admin authenticator). */
export function providerConfig(id: string, f: IdentityProviderFields): IdentityProviderConfig {
  return {
    id,
    issuer: f.issuer,
    ...(f.jwksUri !== null ? { jwksUri: f.jwksUri } : {}),
    audiences: [...f.audiences],
    groupsClaim: f.groupsClaim,
    allowedAlgorithms: [...f.allowedAlgorithms],
    clockToleranceSeconds: f.clockToleranceSeconds,
    groupMapping: { ...f.groupMapping },
  };
}

/** Every problem of a provider, as the verifier would report it. */
export function identityProviderProblems(f: IdentityProviderFields, allowHttp: HttpAllowance): string[] {
  const result = validateIdentityProviders([providerConfig("provider", f)], { allowHttp });
  // "providers[0] (provider).audiences: ..." → "identityProvider.audiences: ..."
  return result.ok ? [] : result.problems.map((p) => p.replace(/^providers\[0\] \(provider\)/, "identityProvider"));
}

/** The stored providers, rows mapped to fields (for the admin authenticator). */
export async function loadIdentityProviders(tx: Tx | Db): Promise<IdentityProviderView[]> {
  return (await tx.identityProvider.findMany({ orderBy: { issuer: "asc" } })).map(view);
}

/** Lists providers, oldest first. */
export async function listIdentityProviders(db: Db, page: PageRequest): Promise<Page<IdentityProviderView>> {
  const { idAfter, orderBy, take } = pageArgs(page);
  return toPage(await db.identityProvider.findMany({ where: idAfter, orderBy, take }), page, view);
}

/** One provider by id, or null. */
export async function getIdentityProvider(db: Db, id: string): Promise<IdentityProviderView | null> {
  const row = await db.identityProvider.findUnique({ where: { id } });
  return row && view(row);
}

async function assertIssuerFree(tx: Tx, issuer: string, exceptId?: string): Promise<void> {
  assertUnique(await tx.identityProvider.findUnique({ where: { issuer } }), exceptId, `an identity provider for issuer ${JSON.stringify(issuer)}`);
}

function dataOf(f: IdentityProviderFields) {
  return { ...f, audiences: [...f.audiences], allowedAlgorithms: [...f.allowedAlgorithms], groupMapping: { ...f.groupMapping } };
}

/** Registers a provider. */
export async function createIdentityProvider(deps: AdminDeps, by: Principal, input: Patch<IdentityProviderFields>): Promise<Committed<IdentityProviderView>> {
  const fields = applyPatch(DEFAULTS, input, DEFAULTS);
  assertNoProblems(identityProviderProblems(fields, deps.allowHttpIssuers));
  return commitChange(deps, by.actor, "policy", async (tx) => {
    await assertIssuerFree(tx, fields.issuer);
    const row = await tx.identityProvider.create({ data: dataOf(fields) });
    return { value: view(row), audit: [{ action: "identityProvider.create", target: `IdentityProvider:${row.id}`, after: view(row) }] };
  });
}

/** Changes a provider (fields not given keep their value). */
export async function updateIdentityProvider(deps: AdminDeps, by: Principal, id: string, patch: Patch<IdentityProviderFields>): Promise<Committed<IdentityProviderView>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.identityProvider.findUnique({ where: { id } }), "identity provider");
    const current = fieldsOf(row);
    const fields = applyPatch(current, patch, DEFAULTS);
    assertNoProblems(identityProviderProblems(fields, deps.allowHttpIssuers));
    if (sameState(current, fields)) return { value: view(row), audit: [] };
    await assertIssuerFree(tx, fields.issuer, id);
    const updated = await tx.identityProvider.update({ where: { id }, data: dataOf(fields) });
    return { value: view(updated), audit: [{ action: "identityProvider.update", target: `IdentityProvider:${id}`, before: view(row), after: view(updated) }] };
  });
}

/** Removes a provider: its tokens stop being accepted by proxies and by this API. */
export async function deleteIdentityProvider(deps: AdminDeps, by: Principal, id: string): Promise<Committed<string>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.identityProvider.findUnique({ where: { id } }), "identity provider");
    await tx.identityProvider.delete({ where: { id } });
    return { value: id, audit: [{ action: "identityProvider.delete", target: `IdentityProvider:${id}`, before: view(row) }] };
  });
}
