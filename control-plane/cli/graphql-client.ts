/** Where the CLI finds the control plane and how it authenticates. */
export interface CliConnection {
  /** GraphQL endpoint, from AGENTGATE_URL (default http://127.0.0.1:4000/graphql). */
  url: string;
  /** An API token (agt_…) or an OIDC bearer token, from AGENTGATE_TOKEN. */
  token: string | undefined;
}

/** A GraphQL error answer, with the control plane's error code. */
export class CliGraphqlError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = "CliGraphqlError";
  }
}

/** Reads the connection settings from the environment. */
export function connectionFromEnv(env: NodeJS.ProcessEnv = process.env): CliConnection {
  const base = env["AGENTGATE_URL"] ?? "http://127.0.0.1:4000";
  return { url: base.endsWith("/graphql") ? base : `${base.replace(/\/+$/, "")}/graphql`, token: env["AGENTGATE_TOKEN"] || undefined };
}

/** Runs one GraphQL operation; throws CliGraphqlError with the first error's code. */
export async function graphql<T>(conn: CliConnection, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(conn.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(conn.token ? { authorization: `Bearer ${conn.token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) throw new CliGraphqlError(body.errors[0]!.message, body.errors[0]!.extensions?.code);
  if (!res.ok || body.data === undefined) throw new CliGraphqlError(`control plane answered HTTP ${res.status}`, undefined);
  return body.data;
}
