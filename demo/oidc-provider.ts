/**
 * The demo's real OpenID Connect provider (oidc-provider, with its development login and
 * consent pages), so the demo users sign in to the console from a browser with the
 * authorization code flow and PKCE, as they would with the company's identity provider.
 *
 * Access tokens are JWTs for the audience "agentgate" carrying `email` and `groups`: the
 * control plane and the proxies verify them like any other provider's tokens. The login
 * page accepts any password for a demo user (dev only) and nobody else.
 *
 * Signing and cookie keys are kept in `keysFile` when given, so sessions and tokens
 * survive a restart of the demo.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider, { type Configuration } from "oidc-provider";

/** A demo user who can sign in. */
export interface OidcUser {
  readonly sub: string;
  readonly email: string;
  readonly groups: readonly string[];
}

/** A client (relying party) allowed to sign users in, e.g. the console. */
export interface OidcClient {
  readonly clientId: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
}

/** Options of {@link startOidcProvider}. */
export interface OidcProviderOptions {
  users: readonly OidcUser[];
  clients: readonly OidcClient[];
  /** Port; default 0 (free port). */
  port?: number;
  /** `aud` of access tokens; default "agentgate". */
  audience?: string;
  /** Where the signing and cookie keys persist; default in memory. */
  keysFile?: string;
  /** Access token lifetime in seconds; default 1 h. */
  accessTokenTtl?: number;
}

/** A running provider. */
export interface OidcProvider {
  /** The issuer (`iss`), also its base URL. */
  readonly url: string;
  /** The resource indicator clients ask tokens for (its audience is `audience`). */
  readonly resource: string;
  readonly audience: string;
  stop(): Promise<void>;
}

interface StoredKeys {
  jwks: JWK[];
  cookieKeys: string[];
}

async function newKeys(): Promise<StoredKeys> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { jwks: [{ ...jwk, alg: "RS256", use: "sig", kid: randomBytes(8).toString("hex") }], cookieKeys: [randomBytes(32).toString("base64url")] };
}

async function loadKeys(file: string | undefined): Promise<StoredKeys> {
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as StoredKeys;
  const keys = await newKeys();
  if (file) writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

/** The resource indicator of the agentgate APIs (an absolute URI, as RFC 8707 wants). */
export const AGENTGATE_RESOURCE = "urn:agentgate";

/** Starts the provider on 127.0.0.1. */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const audience = options.audience ?? "agentgate";
  const users = new Map(options.users.map((u) => [u.sub, u]));
  const keys = await loadKeys(options.keysFile);
  // The issuer URL needs the port; bind first, then mount the provider.
  const route: { handler?: RequestListener } = {};
  const server: Server = createServer((req, res) => route.handler!(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const claimsOf = (sub: string) => {
    const user = users.get(sub);
    return user ? { sub, email: user.email, email_verified: true, groups: [...user.groups] } : undefined;
  };

  const configuration: Configuration = {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: [...c.redirectUris],
      post_logout_redirect_uris: [...(c.postLogoutRedirectUris ?? [])],
    })),
    // Code + PKCE (S256) for every client: they are public clients.
    pkce: { required: () => true },
    jwks: { keys: keys.jwks },
    cookies: { keys: keys.cookieKeys },
    claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
    scopes: ["openid", "email", "groups", "offline_access"],
    async findAccount(_ctx, sub) {
      const claims = claimsOf(sub);
      return claims ? { accountId: sub, claims: async () => claims } : undefined;
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AGENTGATE_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: "openid email groups",
          audience,
          accessTokenTTL: options.accessTokenTtl ?? 3600,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "RS256" } },
        }),
      },
    },
    // The agentgate APIs authorize by these claims, so the access token carries them.
    async extraTokenClaims(_ctx, token) {
      if (token.kind !== "AccessToken" || !token.accountId) return undefined;
      const claims = claimsOf(token.accountId);
      return claims ? { email: claims.email, groups: claims.groups } : undefined;
    },
    // First-party demo clients: no consent screen (the login page stays).
    async loadExistingGrant(ctx) {
      const session = ctx.oidc.session;
      const client = ctx.oidc.client;
      if (!session?.accountId || !client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope("openid email groups");
      grant.addResourceScope(AGENTGATE_RESOURCE, "openid email groups");
      await grant.save();
      return grant;
    },
    ttl: { AccessToken: options.accessTokenTtl ?? 3600, IdToken: 3600, Session: 8 * 3600, Grant: 8 * 3600 },
  };
  const provider = new Provider(url, configuration);
  const callback = provider.callback();
  route.handler = (req, res) => void callback(req, res);

  let stopped: Promise<void> | undefined;
  return {
    url,
    resource: AGENTGATE_RESOURCE,
    audience,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
