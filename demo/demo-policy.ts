import { stringify } from "yaml";

/** Where the demo's moving parts are, to write them into its policy file. */
export interface DemoPolicyInput {
  issuerUrl: string;
  upstreamUrl: string;
  /** Name of the environment variable that holds the upstream key (never the key itself). */
  credentialEnv: string;
  /** The demo's OpenID provider (browser sign-in), trusted like the dev issuer when present. */
  signInIssuerUrl?: string;
  /** Where held runs of members are announced (approval.notifyUrl), if anywhere. */
  approvalWebhookUrl?: string;
}

/**
 * The demo's users, one per role, as the banner offers them: the same names sign in to
 * the console through the demo's OpenID provider.
 */
export const DEMO_USERS = [
  { sub: "alice", email: "alice@example.com", groups: ["members"], role: "member", does: "runs graphs; `leaky` is held for a reviewer (428)" },
  { sub: "bob", email: "bob@example.com", groups: ["approvers"], role: "approver", does: "approves or denies held runs (cp-approver)" },
  { sub: "carol", email: "carol@example.com", groups: ["auditors"], role: "auditor", does: "reads recorded sessions and the configuration (cp-auditor)" },
  { sub: "dana", email: "dana@example.com", groups: ["admins"], role: "admin", does: "administers everything (cp-admin)" },
] as const;

/**
 * The demo's policy file: one dev issuer, roles bound to groups, the demo LangGraph
 * connection and the policies. Members run `echo`, `slow` and `whoami` and need a
 * reviewer for `leaky`; approvers, auditors and admins get the reserved control-plane
 * roles; developers may do anything on any graph; analysts may run `echo` and `slow` and
 * read their own threads; nobody else gets anything (deny by default).
 */
export function demoPolicyYaml(input: DemoPolicyInput): string {
  const issuers = [input.issuerUrl, ...(input.signInIssuerUrl ? [input.signInIssuerUrl] : [])];
  const bind = (group: string) => issuers.map((issuer) => ({ issuer, group }));
  return stringify({
    identityProviders: issuers.map((issuer) => ({ issuer, audiences: ["agentgate"], groupsClaim: "groups" })),
    roles: [
      { name: "developer", bindings: bind("developers") },
      { name: "analyst", bindings: bind("analysts") },
      { name: "member", bindings: bind("members") },
      { name: "cp-approver", bindings: bind("approvers") },
      { name: "cp-auditor", bindings: bind("auditors") },
      { name: "cp-admin", bindings: bind("admins") },
    ],
    connections: [{ name: "demo", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [
      { name: "developers-all", role: "developer", connection: "demo", graphs: ["*"], operations: ["*"] },
      {
        name: "analysts-run",
        role: "analyst",
        connection: "demo",
        graphs: ["echo", "slow"],
        operations: ["assistants:read", "assistants:search", "threads:*", "runs:*", "meta:info"],
        limits: { requestsPerMinute: 120, burst: 30, concurrentRuns: 4, maxBodyBytes: 262144, maxRecursionLimit: 50 },
      },
      { name: "members-run", role: "member", connection: "demo", graphs: ["echo", "slow", "whoami"], operations: ["*"] },
      {
        name: "members-reviewed",
        role: "member",
        connection: "demo",
        graphs: ["leaky"],
        operations: ["*"],
        approval: {
          required: true,
          approverRoles: ["cp-approver", "cp-admin"],
          grantTtlSeconds: 900,
          ...(input.approvalWebhookUrl ? { notifyUrl: input.approvalWebhookUrl } : {}),
        },
      },
    ],
  });
}
