import type { IncomingHttpHeaders } from "node:http";
import type { LocalChange } from "../snapshot/change-hints.js";
import type { ApolloServerOptionsWithTypeDefs, ApolloServerPlugin } from "@apollo/server";
import type { ValidationRule } from "graphql";
import type { HttpAllowance } from "../../common/identity/index.js";
import type { AdminDeps } from "../admin/deps.js";
import { createAdminAuthenticator } from "../auth/authenticator.js";
import type { AuthResult } from "../auth/principal.js";
import type { Db } from "../store/client.js";
import type { SecretBox } from "../secrets.js";
import type { SnapshotPublisher } from "../snapshot/publisher.js";
import type { ProxyStatusRegistry } from "../snapshot/status.js";
import type { GraphqlContext } from "./context.js";
import { enforceAccessTable, type Access } from "./access.js";
import { requestGate, MAX_QUERY_TOKENS } from "./request-gate.js";
import { formatError } from "./format-error.js";
import { DEFAULT_QUERY_LIMITS, queryLimitsRule, type QueryLimits } from "./limits.js";
import { loadTypeDefs } from "./schema.js";
import { DateTimeScalar, JsonScalar } from "./scalars.js";
import { adminAuditResolvers } from "./resolvers/admin-audit.js";
import { apiTokenResolvers } from "./resolvers/api-tokens.js";
import { connectionResolvers } from "./resolvers/connections.js";
import { healthResolvers } from "./resolvers/health.js";
import { identityResolvers } from "./resolvers/identities.js";
import { identityProviderResolvers } from "./resolvers/identity-providers.js";
import { maskingProfileResolvers } from "./resolvers/masking-profiles.js";
import { policyResolvers } from "./resolvers/policies.js";
import { proxyResolvers } from "./resolvers/proxies.js";
import { roleResolvers } from "./resolvers/roles.js";
import { viewerResolvers } from "./resolvers/viewer.js";
import { sessionResolvers } from "./resolvers/sessions.js";
import { policyFileResolvers } from "./resolvers/policy-file.js";
import { approvalResolvers } from "./resolvers/approvals.js";

/** Admin authentication settings (from the control plane's config). */
export interface AdminAuthConfig {
  /** AGENTGATE_ADMIN_BOOTSTRAP_TOKEN: a full-admin bearer token for a fresh install; undefined: none. */
  readonly bootstrapToken?: string | undefined;
  /** AGENTGATE_ALLOW_HTTP_ISSUERS: plain-http identity providers ("loopback" for dev); default "never". */
  readonly allowHttpIssuers?: HttpAllowance | undefined;
}

/** What the GraphQL layer needs from the control plane. */
export interface GraphqlDeps {
  readonly db: Db;
  readonly provider: "sqlite" | "postgresql";
  readonly publisher: SnapshotPublisher;
  readonly proxies: ProxyStatusRegistry;
  readonly secrets: SecretBox;
  /** Call after a committed policy-affecting write: publishes the new snapshot to proxies. */
  readonly refreshSnapshot: (change?: LocalChange) => Promise<void>;
  /** Admin authentication; default: no bootstrap token, https identity providers only. */
  readonly adminAuth?: AdminAuthConfig;
  /** AGENTGATE_CREDENTIAL_ENV_ALLOW (policy files' credentialEnv besides AGENTGATE_UPSTREAM_*). */
  readonly credentialEnvAllow?: readonly string[];
  readonly approvalRequestTtlSeconds?: number;
  /** Query depth/cost limits; default DEFAULT_QUERY_LIMITS. */
  readonly queryLimits?: QueryLimits;
  /** The root-field access table; default ROOT_FIELD_ACCESS (tests swap it to prove it is the only check). */
  readonly accessTable?: Readonly<Record<string, Access>>;
}

type Resolvers = ApolloServerOptionsWithTypeDefs<GraphqlContext>["resolvers"];

/** Everything Apollo needs but `introspection` (a config setting of app.ts). */
export interface GraphqlServerOptions {
  readonly typeDefs: string;
  readonly resolvers: Resolvers;
  readonly formatError: typeof formatError;
  readonly validationRules: ValidationRule[];
  /** Stack traces never go to clients, whatever NODE_ENV says. */
  readonly includeStacktraceInErrorResponses: false;
  /** No "Did you mean …?" in validation errors: they spell out field names without introspection. */
  readonly hideSchemaDetailsFromClientErrors: true;
  /** The parser stops after this many tokens (a huge document costs nothing past it). */
  readonly parseOptions: { readonly maxTokens: number };
  /** Introspection only for authenticated callers, no U+0000 literals (request-gate.ts). */
  readonly plugins: ApolloServerPlugin<GraphqlContext>[];
}

/** The GraphQL schema, resolvers and per-request context, ready for Apollo. */
export interface GraphqlModule extends GraphqlServerOptions {
  /** Spread into `new ApolloServer({ ...module.serverOptions, introspection })`. */
  readonly serverOptions: GraphqlServerOptions;
  context(req: { readonly headers: IncomingHttpHeaders }): Promise<GraphqlContext>;
}

/** Builds the GraphQL module (one SDL file and one resolver file per area). */
export function createGraphqlModule(deps: GraphqlDeps): GraphqlModule {
  const authenticator = createAdminAuthenticator({ db: deps.db, bootstrapToken: deps.adminAuth?.bootstrapToken, allowHttpIssuers: deps.adminAuth?.allowHttpIssuers });
  const admin: AdminDeps = { db: deps.db, secrets: deps.secrets, refreshSnapshot: deps.refreshSnapshot, allowHttpIssuers: deps.adminAuth?.allowHttpIssuers ?? "never", credentialEnvAllow: deps.credentialEnvAllow ?? [], approvalRequestTtlSeconds: deps.approvalRequestTtlSeconds };
  const serverOptions: GraphqlServerOptions = {
    typeDefs: loadTypeDefs(),
    // Every root field is checked against ROOT_FIELD_ACCESS (deny by default).
    resolvers: enforceAccessTable([
      { DateTime: DateTimeScalar, JSON: JsonScalar },
      healthResolvers,
      viewerResolvers,
      identityResolvers,
      identityProviderResolvers,
      roleResolvers,
      connectionResolvers,
      maskingProfileResolvers,
      policyResolvers,
      proxyResolvers,
      apiTokenResolvers,
      adminAuditResolvers,
      sessionResolvers,
      policyFileResolvers,
      approvalResolvers,
    ] as unknown as Array<Record<string, Record<string, unknown>>>, deps.accessTable) as Resolvers,
    formatError,
    validationRules: [queryLimitsRule(deps.queryLimits ?? DEFAULT_QUERY_LIMITS)],
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: true,
    parseOptions: { maxTokens: MAX_QUERY_TOKENS },
    plugins: [requestGate],
  };
  return {
    ...serverOptions,
    serverOptions,
    context: async (req) => {
      // Copied before any await (habit 7); authenticated only if a field needs it, then once.
      const authorization = req.headers.authorization;
      let auth: Promise<AuthResult> | undefined;
      return {
        db: deps.db,
        provider: deps.provider,
        publisher: deps.publisher,
        proxies: deps.proxies,
        admin,
        auth: () => (auth ??= authenticator.authenticate(authorization)),
      };
    },
  };
}
