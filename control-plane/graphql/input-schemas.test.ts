import { randomBytes } from "node:crypto";
import { buildSchema, isInputObjectType } from "graphql";
import type { z } from "zod";
import {
  apiTokenInputSchema,
  approvalInputSchema,
  connectionInputSchema,
  denyRuleInputSchema,
  fileBindingInputSchema,
  groupBindingInputSchema,
  identityBindingInputSchema,
  identityProviderInputSchema,
  identityRefInputSchema,
  limitsInputSchema,
  maskingProfileInputSchema,
  maskingRuleInputSchema,
  policyInputSchema,
  roleInputSchema,
} from "../admin/input-schemas.js";
import { policyDocumentSchema } from "../policy-file/document.js";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { loadTypeDefs } from "./schema.js";
import { startGraphqlHarness, type GraphqlHarness } from "./testing/harness.js";

/**
 * One schema per admin input shape, shared by GraphQL and the policy file (#11): every
 * GraphQL create/update input has exactly the fields of its shared zod schema (plus the
 * documented extra of its path), the file's sections ARE those schemas, and a GraphQL input
 * goes through the zod parse (a shape problem comes back as BAD_USER_INPUT naming the field).
 */
const SHARED: ReadonlyArray<{ graphql: readonly string[]; schema: z.ZodObject; extra?: readonly string[] }> = [
  { graphql: ["CreateIdentityProviderInput", "UpdateIdentityProviderInput"], schema: identityProviderInputSchema },
  { graphql: ["CreateRoleInput", "UpdateRoleInput"], schema: roleInputSchema },
  // The credential itself travels only over GraphQL; a file names an environment variable instead.
  { graphql: ["CreateConnectionInput", "UpdateConnectionInput"], schema: connectionInputSchema, extra: ["credential"] },
  { graphql: ["CreateMaskingProfileInput", "UpdateMaskingProfileInput"], schema: maskingProfileInputSchema },
  { graphql: ["MaskingRuleInput"], schema: maskingRuleInputSchema },
  { graphql: ["CreatePolicyInput", "UpdatePolicyInput"], schema: policyInputSchema },
  { graphql: ["PolicyLimitsInput"], schema: limitsInputSchema },
  { graphql: ["DenyRuleInput"], schema: denyRuleInputSchema },
  { graphql: ["ApprovalRuleInput"], schema: approvalInputSchema },
  { graphql: ["BindRoleToGroupInput"], schema: groupBindingInputSchema },
  { graphql: ["BindRoleToIdentityInput"], schema: identityBindingInputSchema },
  { graphql: ["IdentityRefInput"], schema: identityRefInputSchema },
  { graphql: ["CreateApiTokenInput"], schema: apiTokenInputSchema },
];

test("every GraphQL admin input has exactly the fields of its shared schema", () => {
  const sdl = buildSchema(loadTypeDefs());
  const drift: string[] = [];
  for (const { graphql, schema, extra = [] } of SHARED) {
    const want = [...Object.keys(schema.shape), ...extra].sort();
    for (const name of graphql) {
      const type = sdl.getType(name);
      if (!isInputObjectType(type)) {
        drift.push(`${name}: not an input type`);
        continue;
      }
      const got = Object.keys(type.getFields()).sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) drift.push(`${name}: ${got.join(",")} ≠ ${want.join(",")}`);
    }
  }
  expect(drift).toEqual([]);
});

test("the policy file's sections are the shared schemas (not copies)", () => {
  const section = (key: keyof typeof policyDocumentSchema.shape) => (policyDocumentSchema.shape[key] as unknown as { unwrap(): { element: unknown } }).unwrap().element;
  expect(section("identityProviders")).toBe(identityProviderInputSchema);
  expect(section("maskingProfiles")).toBe(maskingProfileInputSchema);
  expect(section("policies")).toBe(policyInputSchema);
});

test("a file's role binding is the GraphQL binding target: BindRoleToGroupInput without role, or IdentityRefInput by issuer and subject", () => {
  const [group, identity] = fileBindingInputSchema.options;
  expect(Object.keys(group.shape).sort()).toEqual(Object.keys(groupBindingInputSchema.shape).filter((k) => k !== "role").sort());
  expect(Object.keys(identity.shape).sort()).toEqual(Object.keys(identityRefInputSchema.shape).filter((k) => k !== "id").sort());
  const roleSection = (policyDocumentSchema.shape.roles as unknown as { unwrap(): { element: z.ZodObject } }).unwrap().element;
  expect((roleSection.shape.bindings as unknown as { unwrap(): { element: unknown } }).unwrap().element).toBe(fileBindingInputSchema);

  const ok = (b: unknown) => fileBindingInputSchema.safeParse(b).success;
  expect(ok({ issuer: "https://idp", group: "g" })).toBe(true);
  expect(ok({ issuer: "https://idp", subject: "s" })).toBe(true);
  // Neither, both, an id (files name identities by issuer and subject), unknown keys, wrong types, nulls.
  const problem = (b: unknown) => fileBindingInputSchema.safeParse(b).error?.issues.map((i) => i.message);
  for (const bad of [{ issuer: "https://idp" }, { issuer: "https://idp", group: "g", subject: "s" }, { issuer: "https://idp", id: "x" }, { issuer: "https://idp", group: 7 }, { issuer: null, subject: "s" }, { group: "g" }, "g"]) {
    expect(problem(bad)).toEqual(["each binding needs an issuer and exactly one of group or subject"]);
  }
  expect(problem({ issuer: "https://idp", group: "g", role: "r" })).toEqual(['Unrecognized key: "role"']);
});

describe("GraphQL inputs are parsed by the shared schema", () => {
  const BOOTSTRAP = randomBytes(32).toString("hex");
  let db: TestDatabase;
  let api: GraphqlHarness;
  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    api = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP });
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  test("a shape problem GraphQL's types let through (an explicit null for a name) is BAD_USER_INPUT naming the field; nothing is written", async () => {
    const made = await api.gql<Record<string, any>>(`mutation { createRole(input: { name: "shaped" }) { role { id } } }`, {}, BOOTSTRAP);
    const id = made.data!.createRole.role.id as string;
    const audits = await api.store.prisma.adminAudit.count();
    const res = await api.gql(`mutation($id: ID!) { updateRole(id: $id, input: { name: null }) { role { name } } }`, { id }, BOOTSTRAP);
    expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(res.errors?.[0]?.extensions?.problems).toEqual([expect.stringMatching(/^input\.name: /)]);
    expect(await api.store.prisma.adminAudit.count()).toBe(audits);
    expect((await api.store.prisma.role.findUnique({ where: { id } }))?.name).toBe("shaped");
  });
});
