import { randomBytes } from "node:crypto";
import {
  buildClientSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type IntrospectionQuery,
  getIntrospectionQuery,
} from "graphql";
import { startIssuer, type Issuer } from "../../demo/issuer.js";
import { withTestDatabases } from "../../test/helpers/databases.js";
import type { Scope } from "../auth/scopes.js";
import { ROOT_FIELD_ACCESS, type Access } from "./access.js";
import { startGraphqlHarness, type GraphqlHarness } from "./testing/harness.js";

/**
 * The authorization matrix: every root field of the schema (found by introspection, so a
 * new field is covered without touching this file) × every kind of principal (no
 * credential, bootstrap token, OIDC admin / auditor / approver / plain user / suspended
 * admin, API tokens of each scope). A call the access table refuses must be refused and
 * change nothing in the database; a call it allows must get past authorization.
 */
const BOOTSTRAP = randomBytes(32).toString("hex");

/** A principal: how it authenticates, and the scopes it should end up with (null: none, not even authenticated). */
interface Caller {
  readonly name: string;
  token: string | undefined;
  readonly scopes: readonly Scope[] | null;
}

function expectedAllowed(access: Access | undefined, scopes: readonly Scope[] | null): boolean {
  if (access === undefined) return false;
  if (access === "public") return true;
  if (scopes === null) return false;
  return access === "authenticated" || access.anyOf.some((s) => scopes.includes(s));
}

/** A value of `type` that passes GraphQL validation: required input fields only, first enum value. */
function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [sample(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) if (isNonNullType(f.type) && f.defaultValue === undefined) out[f.name] = sample(f.type);
    return out;
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case "ID":
        return "00000000-0000-7000-8000-000000000000";
      case "Int":
      case "Float":
        return 1;
      case "Boolean":
        return false;
      case "DateTime":
        return "2026-01-01T00:00:00Z";
      case "JSON":
        return {};
      default:
        return "matrix";
    }
  }
  throw new Error(`no sample for ${String(type)}`);
}

/** One operation calling `field` with sample values for its required arguments. */
function operationFor(root: "query" | "mutation", field: GraphQLField<unknown, unknown>): { query: string; variables: Record<string, unknown> } {
  const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const decl = required.map((a) => `$${a.name}: ${String(a.type)}`).join(", ");
  const call = required.map((a) => `${a.name}: $${a.name}`).join(", ");
  const selection = isObjectType(getNamedType(field.type)) ? " { __typename }" : "";
  return {
    query: `${root}${decl ? `(${decl})` : ""} { ${field.name}${call ? `(${call})` : ""}${selection} }`,
    variables: Object.fromEntries(required.map((a) => [a.name, sample(a.type)])),
  };
}

// FORBIDDEN for a missing scope or a suspended identity (not for, e.g., granting scopes one lacks).
const FORBIDDEN_BY_AUTHZ = /requires the .* scope|has no access rule|suspended/i;

withTestDatabases((db) => {
  let api: GraphqlHarness;
  let issuer: Issuer;
  const callers: Caller[] = [];
  const admin = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await api.gql<Record<string, any>>(query, variables, BOOTSTRAP);
    expect(res.errors).toBeUndefined();
    return res.data!;
  };
  const dbState = async () => {
    const [snapshot, audit] = await Promise.all([api.store.prisma.snapshotVersion.findUnique({ where: { id: 1 } }), api.store.prisma.adminAudit.count()]);
    return { version: snapshot!.version, audit };
  };

  beforeAll(async () => {
    issuer = await startIssuer();
    api = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP });
    await admin(`mutation($i: CreateIdentityProviderInput!) { createIdentityProvider(input: $i) { identityProvider { id } } }`, { i: { issuer: issuer.url, audiences: ["agentgate"] } });
    for (const [role, group] of [["cp-admin", "admins"], ["cp-auditor", "auditors"], ["cp-approver", "approvers"]]) {
      await admin(`mutation($n: String!) { createRole(input: { name: $n }) { role { id } } }`, { n: role });
      await admin(`mutation($i: BindRoleToGroupInput!) { bindRoleToGroup(input: $i) { roleBinding { id } } }`, { i: { role, issuer: issuer.url, group } });
    }
    const mint = (sub: string, groups: string[]) => issuer.mint({ sub, groups });
    callers.push(
      { name: "no credential", token: undefined, scopes: null },
      { name: "garbage credential", token: "not-a-token", scopes: null },
      { name: "bootstrap token", token: BOOTSTRAP, scopes: ["read", "write", "audit", "approve"] },
      { name: "OIDC admin", token: await mint("admin", ["admins"]), scopes: ["read", "write", "audit", "approve"] },
      { name: "OIDC auditor", token: await mint("auditor", ["auditors"]), scopes: ["read", "audit"] },
      { name: "OIDC approver", token: await mint("approver", ["approvers"]), scopes: ["approve"] },
      { name: "OIDC user without role", token: await mint("user", ["developers"]), scopes: [] },
    );
    for (const scope of ["READ", "WRITE", "AUDIT", "APPROVE"] as const) {
      const made = await admin(`mutation($n: String!, $s: Scope!) { createApiToken(input: { name: $n, scopes: [$s] }) { secret } }`, { n: `matrix-${scope.toLowerCase()}`, s: scope });
      callers.push({ name: `API token ${scope}`, token: made.createApiToken.secret, scopes: [scope.toLowerCase() as Scope] });
    }
    // A suspended admin keeps a valid OIDC token but gets nothing.
    const suspendedToken = await mint("suspended-admin", ["admins"]);
    await admin(`mutation { suspendIdentity(identity: { issuer: "${issuer.url}", subject: "suspended-admin" }) { identity { status } } }`);
    callers.push({ name: "suspended OIDC admin", token: suspendedToken, scopes: null });
  });
  afterAll(async () => {
    await api?.stop();
    await issuer?.stop();
  });

  test("the access table names exactly the schema's root fields", async () => {
    const intro = await api.gql<IntrospectionQuery>(getIntrospectionQuery(), {}, BOOTSTRAP);
    const schema = buildClientSchema(intro.data!);
    const fields = [
      ...Object.keys(schema.getQueryType()!.getFields()).map((f) => `Query.${f}`),
      ...Object.keys(schema.getMutationType()!.getFields()).map((f) => `Mutation.${f}`),
    ].sort();
    expect(Object.keys(ROOT_FIELD_ACCESS).sort()).toEqual(fields);
  });

  test("every root field × every principal: refused calls change nothing, allowed calls pass authorization", async () => {
    const intro = await api.gql<IntrospectionQuery>(getIntrospectionQuery(), {}, BOOTSTRAP);
    const schema = buildClientSchema(intro.data!);
    const roots = [
      ["query", "Query", schema.getQueryType()!],
      ["mutation", "Mutation", schema.getMutationType()!],
    ] as const;
    const mismatches: string[] = [];
    let checked = 0;
    for (const caller of callers) {
      for (const [op, typeName, type] of roots) {
        for (const field of Object.values(type.getFields())) {
          const key = `${typeName}.${field.name}`;
          const allowed = expectedAllowed(ROOT_FIELD_ACCESS[key], caller.scopes);
          const { query, variables } = operationFor(op, field);
          const before = allowed ? undefined : await dbState(); // (compared only for refused calls)
          const res = await api.gql<Record<string, unknown>>(query, variables, caller.token);
          const errors = res.errors ?? [];
          expect(errors.filter((e) => e.extensions?.code === "GRAPHQL_VALIDATION_FAILED" || e.extensions?.code === "BAD_REQUEST")).toEqual([]);
          const authzRefused = errors.some((e) => e.extensions?.code === "UNAUTHENTICATED" || (e.extensions?.code === "FORBIDDEN" && FORBIDDEN_BY_AUTHZ.test(e.message)));
          if (allowed && authzRefused) mismatches.push(`${caller.name} was refused ${key}: ${errors[0]!.message}`);
          if (!allowed) {
            if (!authzRefused) mismatches.push(`${caller.name} was NOT refused ${key}: ${JSON.stringify(res).slice(0, 200)}`);
            if (res.data?.[field.name] != null) mismatches.push(`${caller.name} got data from ${key}`);
            const after = await dbState();
            if (after.version !== before!.version || after.audit !== before!.audit) mismatches.push(`${caller.name} changed the database through ${key}`);
          }
          checked++;
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(callers.length * Object.keys(ROOT_FIELD_ACCESS).length);
  }, 240_000); // ~700 sequential calls: a liveness bound, generous for a machine running two test files at once

  test("the table is the only authorization: with every row opened, a caller without scopes passes every field's authorization", async () => {
    // Same database, same resolvers, a table that lets any authenticated caller through: a
    // refusal that remains would be a second, hand-written check beside the table.
    const open = Object.fromEntries(Object.keys(ROOT_FIELD_ACCESS).map((k) => [k, "authenticated" as const]));
    const loose = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP, accessTable: open });
    try {
      const nobody = callers.find((c) => c.name === "OIDC user without role")!;
      const intro = await loose.gql<IntrospectionQuery>(getIntrospectionQuery(), {}, BOOTSTRAP);
      const schema = buildClientSchema(intro.data!);
      const refused: string[] = [];
      for (const [op, typeName, type] of [["query", "Query", schema.getQueryType()!], ["mutation", "Mutation", schema.getMutationType()!]] as const) {
        for (const field of Object.values(type.getFields())) {
          const { query, variables } = operationFor(op, field);
          const res = await loose.gql(query, variables, nobody.token);
          const authz = (res.errors ?? []).find((e) => e.extensions?.code === "UNAUTHENTICATED" || (e.extensions?.code === "FORBIDDEN" && FORBIDDEN_BY_AUTHZ.test(e.message)));
          if (authz) refused.push(`${typeName}.${field.name}: ${authz.message}`);
        }
      }
      expect(refused).toEqual([]);
      // And the nested row: Role.bindings (READ data in WRITE payloads) is refused to a WRITE-only token by the table.
      const write = callers.find((c) => c.name === "API token WRITE")!;
      const res = await api.gql(`mutation { createRole(input: { name: "nested-row" }) { role { name bindings { edges { cursor } } } } }`, {}, write.token);
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
      expect(res.errors?.[0]?.path).toEqual(["createRole", "role", "bindings"]);
    } finally {
      await loose.stop();
    }
  });
});
