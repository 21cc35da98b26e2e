import type { IncomingMessage } from "node:http";
import type { ApolloServerOptionsWithTypeDefs } from "@apollo/server";
import type { Db } from "../store/client.js";
import type { SecretBox } from "../secrets.js";
import type { SnapshotPublisher } from "../snapshot/publisher.js";
import type { ProxyStatusRegistry } from "../snapshot/status.js";
import type { GraphqlContext } from "./context.js";
import { loadTypeDefs } from "./schema.js";
import { healthResolvers } from "./resolvers/health.js";

/** What the GraphQL layer needs from the control plane. */
export interface GraphqlDeps {
  readonly db: Db;
  readonly provider: "sqlite" | "postgresql";
  readonly publisher: SnapshotPublisher;
  readonly proxies: ProxyStatusRegistry;
  readonly secrets: SecretBox;
  /** Call after a committed policy-affecting write: publishes the new snapshot to proxies. */
  readonly refreshSnapshot: () => Promise<void>;
}

/** The GraphQL schema, resolvers and per-request context, ready for Apollo. */
export interface GraphqlModule {
  readonly typeDefs: string;
  readonly resolvers: ApolloServerOptionsWithTypeDefs<GraphqlContext>["resolvers"];
  context(req: IncomingMessage): Promise<GraphqlContext>;
}

/** Builds the GraphQL module (one SDL file and one resolver file per area). */
export function createGraphqlModule(deps: GraphqlDeps): GraphqlModule {
  return {
    typeDefs: loadTypeDefs(),
    resolvers: [healthResolvers],
    context: async () => ({ db: deps.db, provider: deps.provider, publisher: deps.publisher, proxies: deps.proxies }),
  };
}
