import { buildSchema, parse, validate } from "graphql";
import { queryLimitsRule, type QueryLimits } from "./limits.js";

// A recursive schema: depth is only bounded by the rule.
const schema = buildSchema(`
  type Node { id: ID! child: Node children(first: Int = 50): [Node!]! }
  type Query { node: Node nodes(first: Int = 50): [Node!]! }
`);

const errorsOf = (query: string, limits: QueryLimits = { maxDepth: 4, maxCost: 1000 }) => validate(schema, parse(query), [queryLimitsRule(limits)]).map((e) => e.message);

describe("queryLimitsRule", () => {
  test.each([
    ["{ node { id } }", []],
    ["{ node { child { child { id } } } }", []],
    ["{ node { child { child { child { id } } } } }", ["query is nested 5 levels deep; the limit is 4"]],
    // Fragments count where they are spread, inline fragments too.
    ["query { node { ...F } } fragment F on Node { child { child { child { id } } } }", ["query is nested 5 levels deep; the limit is 4"]],
    ["{ node { ... on Node { child { child { child { id } } } } } }", ["query is nested 5 levels deep; the limit is 4"]],
    // Introspection's ofType chains are deep by design: not held to maxDepth, only to their own bound.
    ["{ __schema { types { fields { type { ofType { ofType { name } } } } } } }", []],
  ])("depth of %s", (query, expected) => {
    expect(errorsOf(query)).toEqual(expected);
  });

  test.each([
    // 1 (nodes) + 10 × (1 + 1) = 21
    ["{ nodes(first: 10) { id child { id } } }", 1000, []],
    // 1 + 100 × (1 + 100 × 1) = 10101: a list in a list multiplies
    ["{ nodes(first: 100) { children(first: 100) { id } } }", 1000, ["query may resolve 10101 fields; the limit is 1000"]],
    // A variable is assumed to be the largest page; no argument is the default page.
    ["query($n: Int) { nodes(first: $n) { id } }", 100, ["query may resolve 101 fields; the limit is 100"]],
    ["{ nodes { id } }", 100, []],
    ["query { nodes(first: 20) { ...F } } fragment F on Node { children(first: 20) { id } }", 100, ["query may resolve 421 fields; the limit is 100"]],
  ])("cost of %s", (query, maxCost, expected) => {
    expect(errorsOf(query, { maxDepth: 10, maxCost: maxCost })).toEqual(expected);
  });

  test("introspection is counted: aliased or nested copies of __schema exceed the cost, aliases are capped", () => {
    const limits = { maxDepth: 10, maxCost: 1000, maxAliases: 50 };
    expect(errorsOf("{ __schema { types { name } } }", limits)).toEqual([]);
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __schema { types { name } }`).join(" ")} }`;
    // Without the alias cap, the cost alone refuses enough copies.
    expect(errorsOf(aliased(400), { ...limits, maxAliases: 10_000 }).join()).toMatch(/query may resolve \d+ fields; the limit is 1000/);
    expect(errorsOf(aliased(1000), limits)).toEqual(expect.arrayContaining([expect.stringMatching(/may resolve/), "query uses 1000 aliases; the limit is 50"]));
    // A list inside a list of the meta types multiplies, as page sizes do.
    const nested = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }";
    expect(errorsOf(nested, limits).join()).toMatch(/may resolve/);
    // Aliased __typename is cheap but still an alias.
    expect(errorsOf(`{ ${Array.from({ length: 60 }, (_, i) => `t${i}: __typename`).join(" ")} }`, limits)).toEqual(["query uses 60 aliases; the limit is 50"]);
  });

  test("a fragment cycle does not loop (graphql's own rule reports it)", () => {
    expect(errorsOf("query { node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }", { maxDepth: 10, maxCost: 1000 })).toEqual([]);
  });
});
