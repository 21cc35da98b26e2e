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

/** Options of {@link graphql}. */
export interface GraphqlCallOptions {
  /** Deadline of the whole call (upload, work, answer); default 30 s. */
  timeoutMs?: number;
  /** Called as the request body goes out (bytes handed to the connection, total). */
  onUploadProgress?: (sent: number, total: number) => void;
}

// Bodies are sent in slices of this size, so upload progress moves on large files.
const UPLOAD_SLICE = 256 << 10;

/** The request body; a stream of slices reporting progress when asked to. */
function requestBody(json: string, onProgress: GraphqlCallOptions["onUploadProgress"]): { body: string | ReadableStream<Uint8Array>; duplex?: "half" } {
  if (onProgress === undefined) return { body: json };
  const bytes = Buffer.from(json, "utf8");
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes.length) return controller.close();
      const slice = bytes.subarray(sent, sent + UPLOAD_SLICE);
      sent += slice.length;
      controller.enqueue(slice);
      onProgress(sent, bytes.length);
    },
  });
  return { body: stream, duplex: "half" };
}

/** Runs one GraphQL operation; throws CliGraphqlError with the first error's code. */
export async function graphql<T>(conn: CliConnection, query: string, variables: Record<string, unknown> = {}, opts: GraphqlCallOptions = {}): Promise<T> {
  const res = await fetch(conn.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(conn.token ? { authorization: `Bearer ${conn.token}` } : {}) },
    ...requestBody(JSON.stringify({ query, variables }), opts.onUploadProgress),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
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
