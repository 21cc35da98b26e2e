import { stringify } from "yaml";

/** Where the demo's moving parts are, to write them into its policy file. */
export interface DemoPolicyInput {
  issuerUrl: string;
  upstreamUrl: string;
  /** Name of the environment variable that holds the upstream key (never the key itself). */
  credentialEnv: string;
}

/**
 * The demo's policy file: one dev issuer, three roles bound to groups, the demo LangGraph
 * connection and two policies. Developers may do anything on any graph; analysts may run
 * `echo` and `slow` and read their own threads; nobody else gets anything (deny by default).
 */
export function demoPolicyYaml(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [
      { name: "developer", bindings: [{ issuer: input.issuerUrl, group: "developers" }] },
      { name: "analyst", bindings: [{ issuer: input.issuerUrl, group: "analysts" }] },
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
    ],
  });
}
