/**
 * Public surface of `common/identity`: token verification shared by the proxy's authenticate
 * stage and the control plane. Import from here rather than from the individual modules.
 */
export { AUTH_ERROR_CODES, authFailure, type AuthErrorCode, type AuthFailure } from "./auth-error.js";
export { parseBearer, type BearerResult } from "./bearer.js";
export { extractGroups, readClaimPath, MAX_GROUPS, MAX_GROUP_LENGTH } from "./groups.js";
export {
  validateIdentityProviders,
  resolveIdentityProviders,
  IdentityProviderConfigError,
  ASYMMETRIC_JWS_ALGORITHMS,
  DEFAULT_ALLOWED_ALGORITHMS,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  MAX_CLOCK_TOLERANCE_SECONDS,
  type IdentityProviderConfig,
  type ResolvedIdentityProvider,
  type ProviderValidationOptions,
  type ProvidersValidation,
} from "./identity-providers.js";
export { createJwksSource, JwksUnavailableError, type JwksOptions, type JwksSource, type JwksStats } from "./jwks.js";
export { VerifiedTokenCache, tokenKey, type TokenCacheOptions, type TokenKey } from "./token-cache.js";
export { DEFAULT_MAX_TOKEN_BYTES } from "./unverified-jwt.js";
export type { HttpAllowance } from "./url-policy.js";
export {
  createVerifier,
  type Verifier,
  type VerifierOptions,
  type VerifyResult,
  type VerifiedIdentity,
  type JwtVerifyFunction,
} from "./verifier.js";
