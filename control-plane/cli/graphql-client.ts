/** Where the CLI finds the control plane and how it authenticates. */
export interface CliConnection {
  /** GraphQL endpoint, from AGENTGATE_URL (default http://127.0.0.1:4000/graphql). */
  url: string;
  /** An API token (agt_…) or an OIDC bearer token, from AGENTGATE_TOKEN. */
  token: string | undefined;
}

/** A GraphQL error answer, with the control plane's error code and every problem it listed. */
export class CliGraphqlError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
    this.name = "CliGraphqlError";
  }
}

/** Largest answer the CLI reads: lists come in pages, so only a hostile server sends more. */
export const MAX_ANSWER_BYTES = 32 << 20;

async function readCapped(res: Response): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) throw new CliGraphqlError(`the control plane's answer exceeds ${MAX_ANSWER_BYTES} bytes`, undefined);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
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
  let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string; problems?: unknown } }> } = {};
  try {
    body = JSON.parse(await readCapped(res)) as typeof body;
  } catch (err) {
    if (err instanceof CliGraphqlError) throw err;
  }
  if (body.errors?.length) {
    const first = body.errors[0]!;
    const problems = Array.isArray(first.extensions?.problems) ? first.extensions.problems.map(String) : [];
    throw new CliGraphqlError(first.message, first.extensions?.code, problems);
  }
  if (!res.ok || body.data === undefined) throw new CliGraphqlError(`control plane answered HTTP ${res.status}`, undefined);
  return body.data;
}
