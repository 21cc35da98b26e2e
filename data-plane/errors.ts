/**
 * Every error the proxy can answer with, in one table (EXAMPLES habit 6): a stable code,
 * its HTTP status, and one JSON shape `{"error": {code, message, requestId}}`.
 * The original cause stays in logs; it is never sent to the client.
 */
export type GatewayErrorCode =
  | "AUTHN_REQUIRED"
  | "AUTHN_INVALID"
  | "IDENTITY_SUSPENDED"
  | "POLICY_DENIED"
  | "NOT_FOUND"
  | "CONFLICT"
  | "ROUTE_UNKNOWN"
  | "ROUTE_UNSUPPORTED"
  | "BODY_TOO_LARGE"
  | "BAD_REQUEST"
  | "REQUEST_TIMEOUT"
  | "INVALID_JSON"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "INPUT_DENIED"
  | "APPROVAL_REQUIRED"
  | "APPROVAL_PENDING"
  | "RATE_LIMITED"
  | "CONCURRENCY_LIMITED"
  | "BUDGET_EXHAUSTED"
  | "NO_POLICY_SNAPSHOT"
  | "SPOOL_FULL"
  | "IDP_UNAVAILABLE"
  | "APPROVAL_UNAVAILABLE"
  | "UPSTREAM_UNAVAILABLE"
  | "UPSTREAM_TIMEOUT"
  | "INTERNAL";

const STATUS: Record<GatewayErrorCode, number> = {
  AUTHN_REQUIRED: 401,
  AUTHN_INVALID: 401,
  IDENTITY_SUSPENDED: 403,
  POLICY_DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ROUTE_UNKNOWN: 404,
  ROUTE_UNSUPPORTED: 501,
  BODY_TOO_LARGE: 413,
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  INVALID_JSON: 422,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INPUT_DENIED: 422,
  APPROVAL_REQUIRED: 428,
  APPROVAL_PENDING: 428,
  RATE_LIMITED: 429,
  CONCURRENCY_LIMITED: 429,
  BUDGET_EXHAUSTED: 429,
  NO_POLICY_SNAPSHOT: 503,
  SPOOL_FULL: 503,
  IDP_UNAVAILABLE: 503,
  APPROVAL_UNAVAILABLE: 503,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL: 500,
};

/** HTTP status for a gateway error code. */
export function statusOf(code: GatewayErrorCode): number {
  return STATUS[code];
}

/** The one JSON body every denial and failure is answered with. */
export function errorBody(code: GatewayErrorCode, message: string, requestId: string): string {
  return JSON.stringify({ error: { code, message, requestId } });
}
