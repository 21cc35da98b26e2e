/**
 * Test support: the control plane's GraphQL API on a real database and a real HTTP server
 * (port 0), wired like app.ts (store, snapshot refresher, module, Apollo, graphqlHandler)
 * but without gRPC. Never imported by production code.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import type { HttpAllowance } from "../../../common/identity/index.js";
import { authenticatedCaller, graphqlHandler } from "../../http/graphql-handler.js";
import { SecretBox } from "../../secrets.js";
import { buildSnapshot } from "../../snapshot/compile.js";
import { gatewayKeySource } from "../../snapshot/gateway-keys.js";
import { SnapshotPublisher } from "../../snapshot/publisher.js";
import { startSnapshotRefresher } from "../../snapshot/refresher.js";
import { ProxyStatusRegistry } from "../../snapshot/status.js";
import { openStore, type Store } from "../../store/client.js";
import type { GraphqlContext } from "../context.js";
import { createGraphqlModule } from "../module.js";
import type { QueryLimits } from "../limits.js";
import type { Access } from "../access.js";

/** A GraphQL response as parsed JSON. */
export interface GqlResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string; problems?: string[]; [k: string]: unknown } }>;
}

/** A running API. */
export interface GraphqlHarness {
  readonly store: Store;
  readonly secrets: SecretBox;
  readonly publisher: SnapshotPublisher;
  readonly proxies: ProxyStatusRegistry;
  readonly url: string;
  /** POSTs one operation; `token` goes into `Authorization: Bearer`. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>>;
  stop(): Promise<void>;
}

/** Options of {@link startGraphqlHarness}. */
export interface HarnessOptions {
  databaseUrl: string;
  bootstrapToken?: string;
  allowHttpIssuers?: HttpAllowance;
  introspection?: boolean;
  queryLimits?: QueryLimits;
  credentialEnvAllow?: readonly string[];
  accessTable?: Readonly<Record<string, Access>>;
}

/** Starts the API on `databaseUrl` (migrated on open). */
export async function startGraphqlHarness(opts: HarnessOptions): Promise<GraphqlHarness> {
  const store = await openStore(opts.databaseUrl);
  const secrets = SecretBox.fromBase64(randomBytes(32).toString("base64"));
  const publisher = new SnapshotPublisher();
  const proxies = new ProxyStatusRegistry();
  const refresher = startSnapshotRefresher({ db: store.prisma, publisher, build: () => buildSnapshot(store.prisma, secrets, gatewayKeySource(secrets)), pollMs: 60_000 });
  await refresher.refresh();
  const graphql = createGraphqlModule({
    db: store.prisma,
    provider: store.provider,
    publisher,
    proxies,
    secrets,
    refreshSnapshot: refresher.refresh,
    adminAuth: { bootstrapToken: opts.bootstrapToken, allowHttpIssuers: opts.allowHttpIssuers ?? "loopback" },
    ...(opts.queryLimits ? { queryLimits: opts.queryLimits } : {}),
    ...(opts.credentialEnvAllow ? { credentialEnvAllow: opts.credentialEnvAllow } : {}),
    ...(opts.accessTable ? { accessTable: opts.accessTable } : {}),
  });
  const apollo = new ApolloServer<GraphqlContext>({ ...graphql.serverOptions, introspection: opts.introspection ?? true });
  await apollo.start();
  const context = (req: IncomingMessage) => graphql.context(req);
  const serve = graphqlHandler(apollo, context, authenticatedCaller(context));
  const http = createServer((req, res) => void serve(req, res));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
  return {
    store,
    secrets,
    publisher,
    proxies,
    url,
    async gql(query, variables, token) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token !== undefined) headers["authorization"] = `Bearer ${token}`;
      const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
      return (await res.json()) as GqlResponse<never>;
    },
    async stop() {
      refresher.stop();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await apollo.stop();
      await store.close();
    },
  };
}
