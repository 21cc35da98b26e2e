import { randomBytes } from "node:crypto";
import { getIntrospectionQuery } from "graphql";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { startGraphqlHarness, type GraphqlHarness } from "./testing/harness.js";

/**
 * The denial-of-service queries against the real HTTP API (PostgreSQL): each is
 * refused before execution, whoever sends it. No timing is asserted; what is asserted is
 * that nothing was executed (no data, a validation or authentication error) and the API
 * still answers afterwards.
 */
const BOOTSTRAP = randomBytes(32).toString("hex");
let database: TestDatabase;
let api: GraphqlHarness;
let closed: GraphqlHarness;

beforeAll(async () => {
  database = await createTestDatabase("postgresql");
  api = await startGraphqlHarness({ databaseUrl: database.url, bootstrapToken: BOOTSTRAP, introspection: true });
  closed = await startGraphqlHarness({ databaseUrl: database.url, bootstrapToken: BOOTSTRAP, introspection: false });
});
afterAll(async () => {
  await api?.stop();
  await closed?.stop();
  await database?.drop();
});

const aliasedSchema = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __schema { types { name fields { name } } }`).join(" ")} }`;

test.each([1_000, 3_000])("%d aliased __schema selections are refused unexecuted, with or without a credential", async (n) => {
  for (const token of [undefined, BOOTSTRAP]) {
    const res = await api.gql(aliasedSchema(n), {}, token);
    expect(res.data ?? null).toBeNull();
    expect(res.errors!.length).toBeGreaterThan(0);
    expect(res.errors!.map((e) => e.message).join("\n")).toMatch(/aliases|may resolve|tokens/);
  }
  expect((await api.gql("{ health { status } }")).data).toEqual({ health: { status: "ok" } });
});

test("the parser stops at the token limit", async () => {
  const res = await api.gql(`{ health { ${"status ".repeat(20_000)} } }`);
  expect(res.data ?? null).toBeNull();
  expect(res.errors![0]!.message).toMatch(/more th[ae][nt] 5000 tokens/);
});

test("introspection answers authenticated callers only; when off, errors do not suggest field names", async () => {
  const anonymous = await api.gql(getIntrospectionQuery());
  expect(anonymous.data ?? null).toBeNull();
  expect(anonymous.errors!.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
  expect((await api.gql("{ __type(name: \"Role\") { name } }")).errors!.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
  const admin = await api.gql<{ __schema: { types: unknown[] } }>(getIntrospectionQuery(), {}, BOOTSTRAP);
  expect(admin.errors).toBeUndefined();
  expect(admin.data!.__schema.types.length).toBeGreaterThan(20);
  // Two standard introspections in one operation exceed the cost limit.
  const twice = await api.gql(getIntrospectionQuery().replace("__schema {", "b: __schema { types { ...FullType } } __schema {"), {}, BOOTSTRAP);
  expect(twice.errors!.map((e) => e.message).join()).toMatch(/may resolve/);

  for (const token of [undefined, BOOTSTRAP]) {
    const off = await closed.gql(getIntrospectionQuery(), {}, token);
    expect(off.data ?? null).toBeNull();
    const typo = await closed.gql("{ role { nme } rolez { id } }", {}, token);
    const text = JSON.stringify(typo.errors);
    expect(typo.errors!.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/Did you mean/i);
  }
});

test("U+0000 in a variable, a literal or a cursor is BAD_USER_INPUT and nothing is written", async () => {
  const before = await api.store.prisma.adminAudit.count();
  const cases: Array<[string, Record<string, unknown>]> = [
    ["mutation($n: String!) { createRole(input: { name: $n }) { role { id } } }", { n: "a\u0000b" }],
    ['mutation { createRole(input: { name: "ok", description: "x\\u0000y" }) { role { id } } }', {}],
    ['query { roles(after: "\\u0000") { edges { node { id } } } }', {}],
    ["query($c: String) { roles(after: $c) { edges { node { id } } } }", { c: "\u0000" }],
  ];
  for (const [query, variables] of cases) {
    const res = await api.gql(query, variables, BOOTSTRAP);
    expect(res.errors!.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
  }
  expect(await api.store.prisma.adminAudit.count()).toBe(before);
});
