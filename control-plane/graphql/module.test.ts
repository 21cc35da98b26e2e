import { ApolloServer } from "@apollo/server";
import { SecretBox } from "../secrets.js";
import { SnapshotPublisher } from "../snapshot/publisher.js";
import { ProxyStatusRegistry } from "../snapshot/status.js";
import type { Db } from "../store/client.js";
import type { GraphqlContext } from "./context.js";
import { createGraphqlModule } from "./module.js";
import { principal } from "../auth/principal.js";

// No database is touched by these operations: authentication is lazy.
const graphql = createGraphqlModule({
  db: {} as Db,
  provider: "sqlite",
  publisher: new SnapshotPublisher(),
  proxies: new ProxyStatusRegistry(),
  secrets: SecretBox.fromBase64(Buffer.alloc(32).toString("base64")),
  refreshSnapshot: async () => undefined,
});

async function run(introspection: boolean, query: string, authenticated = false) {
  const server = new ApolloServer<GraphqlContext>({ ...graphql.serverOptions, introspection });
  await server.start();
  try {
    const context = await graphql.context({ headers: {} });
    const contextValue = authenticated ? { ...context, auth: async () => ({ ok: true as const, principal: principal("bootstrap", "token:test", ["read"]) }) } : context;
    const res = await server.executeOperation({ query }, { contextValue });
    return res.body.kind === "single" ? res.body.singleResult : undefined;
  } finally {
    await server.stop();
  }
}

describe("GraphQL module", () => {
  test("the schema of every area builds, and introspection follows the setting", async () => {
    const anonymous = await run(true, "{ __schema { mutationType { fields { name } } } }");
    expect(anonymous?.errors?.[0]?.extensions?.["code"]).toBe("UNAUTHENTICATED");
    const open = await run(true, "{ __schema { mutationType { fields { name } } } }", true);
    const names = (open?.data as { __schema: { mutationType: { fields: Array<{ name: string }> } } }).__schema.mutationType.fields.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(["createPolicy", "suspendIdentity", "createApiToken", "bindRoleToGroup", "createMaskingProfile"]));
    const closed = await run(false, "{ __schema { types { name } } }");
    expect(closed?.errors?.[0]?.extensions?.["code"]).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(closed?.data).toBeUndefined();
  });

  test("health needs no credentials; the rest answers UNAUTHENTICATED", async () => {
    const res = await run(false, "{ health { status connectedProxies } }");
    expect(res?.data).toEqual({ health: { status: "ok", connectedProxies: 0 } });
    expect((await run(false, "{ snapshot { version } }"))?.errors?.[0]?.extensions).toEqual({ code: "UNAUTHENTICATED" });
  });
});
