import { randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { startGraphqlHarness, type GqlResponse, type GraphqlHarness } from "./testing/harness.js";

/**
 * Issue #11's leftovers: bindRoleToGroup, bindRoleToIdentity and createApiToken parse their
 * GraphQL input with the shared schemas (admin/input-schemas.ts) and check what a binding
 * names with the same function as the policy file (binding by binding and in bulk). Attacks:
 * overlong values, control characters (some of which the URL parser would silently drop),
 * issuers that are not http(s) URLs, reserved roles and scopes the caller lacks. Each is
 * refused and leaves the database exactly as it was.
 */
const BOOTSTRAP = randomBytes(32).toString("hex");
const ISSUER = "https://idp.example";
const GROUP = `mutation($i: BindRoleToGroupInput!) { bindRoleToGroup(input: $i) { roleBinding { id } } }`;
const IDENTITY = `mutation($i: BindRoleToIdentityInput!) { bindRoleToIdentity(input: $i) { roleBinding { id } } }`;
const TOKEN = `mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret } }`;
const APPLY = `mutation($y: String!) { applyPolicyFile(yaml: $y) { snapshotVersion } }`;

/** Hostile issuers: each must be refused wherever a binding names an issuer. */
const BAD_ISSUERS: ReadonlyArray<[string, string]> = [
  ["overlong", `${ISSUER}/${"a".repeat(5_000)}`],
  ["tab inside (the URL parser drops it)", "https://idp.exa\tmple"],
  ["newline at the end (the URL parser drops it)", `${ISSUER}\n`],
  ["escape sequence", `${ISSUER}/\u001b[2J`],
  ["DEL", `${ISSUER}/\u007f`],
  ["no scheme", "idp.example"],
  ["javascript:", "javascript:alert(1)"],
  ["ftp:", "ftp://idp.example"],
  ["credentials", "https://user:pw@idp.example"],
  ["empty", ""],
];

const codes = (r: GqlResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

withTestDatabases((db) => {
  let api: GraphqlHarness;
  let writeToken: string;
  const state = async () => {
    const p = api.store.prisma;
    const [snapshot, audit, bindings, identities, tokens, roles] = await Promise.all([
      p.snapshotVersion.findUnique({ where: { id: 1 } }),
      p.adminAudit.count(),
      p.roleBinding.findMany({ orderBy: { id: "asc" } }),
      p.identity.findMany({ orderBy: { id: "asc" } }),
      p.apiToken.findMany({ orderBy: { id: "asc" } }),
      p.role.findMany({ orderBy: { id: "asc" } }),
    ]);
    // (A token's lastUsedAt moves when the attacker uses it: that is not a write the attack made.)
    return { version: snapshot!.version, audit, bindings, identities, tokens: tokens.map(({ lastUsedAt: _used, ...t }) => t), roles };
  };
  /** Runs `query` as `token`; expects it refused with `code` and the database unchanged. */
  const refused = async (what: string, query: string, variables: Record<string, unknown>, code: string, token = BOOTSTRAP) => {
    const before = await state();
    const res = await api.gql(query, variables, token);
    expect([what, codes(res)]).toEqual([what, [code]]);
    expect(await state()).toEqual(before);
  };

  beforeAll(async () => {
    api = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP });
    for (const name of ["runners", "cp-admin", "cp-approver", "cp-auditor"]) {
      const made = await api.gql(`mutation($n: String!) { createRole(input: { name: $n }) { role { id } } }`, { n: name }, BOOTSTRAP);
      expect(made.errors).toBeUndefined();
    }
    const token = await api.gql<Record<string, any>>(TOKEN, { i: { name: "writer", scopes: ["WRITE"] } }, BOOTSTRAP);
    writeToken = token.data!.createApiToken.secret;
  });
  afterAll(async () => {
    await api?.stop();
  });

  test("the accepted forms still work (so the refusals below are about the values)", async () => {
    const group = await api.gql(GROUP, { i: { role: "runners", issuer: ISSUER, group: "ops" } }, BOOTSTRAP);
    const identity = await api.gql(IDENTITY, { i: { role: "runners", identity: { issuer: ISSUER, subject: "s".repeat(255) } } }, BOOTSTRAP);
    const token = await api.gql(TOKEN, { i: { name: "ci-token", scopes: ["READ"], expiresInSeconds: 3_600 } }, BOOTSTRAP);
    expect([codes(group), codes(identity), codes(token)]).toEqual([[], [], []]);
  });

  test("bindRoleToGroup: hostile issuers and groups are BAD_USER_INPUT; nothing is written", async () => {
    for (const [what, issuer] of BAD_ISSUERS) await refused(`issuer ${what}`, GROUP, { i: { role: "runners", issuer, group: "ops" } }, "BAD_USER_INPUT");
    for (const [what, group] of [
      ["overlong", "g".repeat(257)],
      ["escape sequence", "ops\u001b[31m"],
      ["blank", "   "],
    ] as const) {
      await refused(`group ${what}`, GROUP, { i: { role: "runners", issuer: ISSUER, group } }, "BAD_USER_INPUT");
    }
  });

  test("bindRoleToIdentity: hostile issuers, subjects and references are BAD_USER_INPUT; no identity is created", async () => {
    for (const [what, issuer] of BAD_ISSUERS) await refused(`issuer ${what}`, IDENTITY, { i: { role: "runners", identity: { issuer, subject: "alice" } } }, "BAD_USER_INPUT");
    for (const [what, subject] of [
      ["overlong", "s".repeat(256)],
      ["bell", "ali\u0007ce"],
      ["newline", "alice\nbob"],
      ["escape sequence", "\u001b]0;pwned\u0007"],
    ] as const) {
      await refused(`subject ${what}`, IDENTITY, { i: { role: "runners", identity: { issuer: ISSUER, subject } } }, "BAD_USER_INPUT");
    }
    await refused("id and issuer+subject", IDENTITY, { i: { role: "runners", identity: { id: "x", issuer: ISSUER, subject: "alice" } } }, "BAD_USER_INPUT");
    await refused("nothing", IDENTITY, { i: { role: "runners", identity: {} } }, "BAD_USER_INPUT");
    await refused("explicit nulls", IDENTITY, { i: { role: "runners", identity: { id: null, issuer: null, subject: null } } }, "BAD_USER_INPUT");
  });

  test("reserved roles: a WRITE token binds nobody to cp-admin, cp-approver or cp-auditor (and creates no identity); unknown roles are NOT_FOUND", async () => {
    for (const role of ["cp-admin", "cp-approver", "cp-auditor"]) {
      await refused(`${role} to a group`, GROUP, { i: { role, issuer: ISSUER, group: "mine" } }, "FORBIDDEN", writeToken);
      await refused(`${role} to an identity`, IDENTITY, { i: { role, identity: { issuer: ISSUER, subject: "me" } } }, "FORBIDDEN", writeToken);
    }
    for (const role of ["CP-ADMIN", "cp-admin ", "r".repeat(10_000)]) await refused(`role ${JSON.stringify(role.slice(0, 12))}`, GROUP, { i: { role, issuer: ISSUER, group: "ops" } }, "NOT_FOUND");
  });

  test("createApiToken: hostile names, scopes and lifetimes are refused; nothing is written", async () => {
    for (const [what, input] of [
      ["overlong name", { name: "t".repeat(64), scopes: ["READ"] }],
      ["control character in the name", { name: "tok\u0001en", scopes: ["READ"] }],
      ["escape sequence in the name", { name: "\u001b[2Jtok", scopes: ["READ"] }],
      ["empty name", { name: "", scopes: ["READ"] }],
      ["no scopes", { name: "t1", scopes: [] }],
      ["lifetime under a minute", { name: "t2", scopes: ["READ"], expiresInSeconds: 59 }],
      ["lifetime over a year", { name: "t3", scopes: ["READ"], expiresInSeconds: 366 * 86_400 + 1 }],
      ["negative lifetime", { name: "t4", scopes: ["READ"], expiresInSeconds: -1 }],
    ] as const) {
      await refused(what, TOKEN, { i: input }, "BAD_USER_INPUT");
    }
    // Scopes the caller does not hold cannot be granted through a token it mints.
    for (const scope of ["READ", "AUDIT", "APPROVE"]) await refused(`WRITE token minting ${scope}`, TOKEN, { i: { name: `x-${scope.toLowerCase()}`, scopes: [scope] } }, "FORBIDDEN", writeToken);
  });

  test("the policy file names bindings through the same checks: one hostile binding refuses the whole file, binding by binding and in bulk", async () => {
    const file = (bindings: Array<Record<string, string>>) => stringify({ roles: [{ name: "runners", bindings }] });
    const many = Array.from({ length: 150 }, (_, i) => ({ issuer: ISSUER, group: `bulk-${i}` })); // > BULK_BINDING_THRESHOLD: applied set-wise
    const hostile: Array<[string, Record<string, string>]> = [
      ...BAD_ISSUERS.map(([what, issuer]): [string, Record<string, string>] => [`group binding, issuer ${what}`, { issuer, group: "ops" }]),
      ...BAD_ISSUERS.map(([what, issuer]): [string, Record<string, string>] => [`subject binding, issuer ${what}`, { issuer, subject: "alice" }]),
      ["subject overlong", { issuer: ISSUER, subject: "s".repeat(256) }],
      ["subject with an escape sequence", { issuer: ISSUER, subject: "\u001b]0;x\u0007" }],
      ["group with an escape sequence", { issuer: ISSUER, group: "ops\u001b[31m" }],
    ];
    for (const [what, binding] of hostile) await refused(`file: ${what}`, APPLY, { y: file([binding]) }, "BAD_USER_INPUT");
    // The bulk path calls the same check: one issuer, one subject and one group case show it is wired.
    for (const at of [0, BAD_ISSUERS.length + 1, hostile.length - 1]) {
      const [what, binding] = hostile[at]!;
      await refused(`bulk file: ${what}`, APPLY, { y: file([...many, binding]) }, "BAD_USER_INPUT");
    }
  }, 120_000);
});
