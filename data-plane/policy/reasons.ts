/**
 * The closed set of decision reasons (Pomerium's criteria/reasons.go habit): kebab-case
 * codes stored in session records and shown in denials instead of the whole policy.
 */
export type Reason =
  | "allowed"
  | "no-role"
  | "no-policy-for-connection"
  | "operation-not-allowed"
  | "graph-not-allowed"
  | "identity-suspended"
  | "thread-not-owned"
  | "resource-not-owned"
  | "unknown-route"
  | "unsupported-route"
  | "connection-unknown"
  | "body-too-large"
  | "recursion-limit-exceeded"
  | "denylisted-input"
  | "reserved-key"
  | "invalid-json"
  | "approval-required"
  | "rate-limited"
  | "concurrency-limited"
  | "budget-exhausted"
  | "cron-unbounded"
  | "response-uninspectable";
