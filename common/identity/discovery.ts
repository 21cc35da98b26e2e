/**
 * Finds an issuer's JWKS URL: the configured one, or the `jwks_uri` of its OpenID Connect
 * discovery document, fetched once and then remembered.
 *
 * Failures are not remembered: the caller (`jwks.ts`) only asks during a JWKS refresh, and those
 * are rate-limited per issuer, so a failing discovery endpoint is not hammered either.
 */
import { fetchJson, FetchJsonError, type FetchJsonOptions } from "./fetch-json.js";
import { checkKeyUrl, type HttpAllowance } from "./url-policy.js";

/** The discovery document URL of `issuer` (OIDC Discovery §4: path appended, trailing "/" removed). */
export function discoveryUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`);
}

/** Options of `createJwksUriResolver`. */
export interface JwksUriResolverOptions {
  readonly fetch: FetchJsonOptions;
  readonly allowHttp: HttpAllowance;
}

/**
 * Returns a function resolving the JWKS URL of one issuer (throws a TypeError at once if a URL
 * breaks the https policy). With `configuredJwksUri` it never
 * fetches. Otherwise it fetches the discovery document, checks that its `issuer` is exactly ours
 * (OIDC Discovery §4.3: a document that names another issuer could steer us to someone else's
 * keys) and that `jwks_uri` passes the URL policy, and caches the answer.
 */
export function createJwksUriResolver(
  issuer: string,
  configuredJwksUri: string | undefined,
  options: JwksUriResolverOptions,
): () => Promise<URL> {
  if (configuredJwksUri !== undefined) {
    const checked = checkKeyUrl(configuredJwksUri, options.allowHttp);
    if (!checked.ok) throw new TypeError(`jwksUri ${checked.problem}`);
    const url = checked.url;
    return () => Promise.resolve(url);
  }
  // The discovery URL obeys the same https policy as the keys it leads to.
  const checkedDiscovery = checkKeyUrl(discoveryUrl(issuer).href, options.allowHttp);
  if (!checkedDiscovery.ok) throw new TypeError(`issuer ${checkedDiscovery.problem}`);
  const docUrl = checkedDiscovery.url;
  let cached: URL | undefined;
  return async () => {
    if (cached) return cached;
    const doc = await fetchJson(docUrl, options.fetch);
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
      throw new FetchJsonError("discovery document is not a JSON object");
    }
    const { issuer: docIssuer, jwks_uri: jwksUri } = doc as Record<string, unknown>;
    if (docIssuer !== issuer) throw new FetchJsonError("discovery document names a different issuer");
    if (typeof jwksUri !== "string") throw new FetchJsonError("discovery document has no jwks_uri");
    const checked = checkKeyUrl(jwksUri, options.allowHttp);
    if (!checked.ok) throw new FetchJsonError(`discovery jwks_uri ${checked.problem}`);
    cached = checked.url;
    return cached;
  };
}
