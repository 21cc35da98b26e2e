import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext } from "@apollo/server";
import { Kind, parse } from "graphql";
import { MAX_POLICY_FILE_BYTES } from "../policy-file/document.js";

/** Largest GraphQL request body accepted (queries are small; bulk data goes elsewhere). */
export const MAX_GRAPHQL_BODY = 1 << 20;
/**
 * The one exception: a request whose only operation is the `applyPolicyFile` mutation may
 * carry a policy file up to MAX_POLICY_FILE_BYTES (JSON-escaped, hence the margin). Only
 * an authenticated caller gets past 1 MiB, and only one such body is read at a time.
 */
export const MAX_POLICY_FILE_BODY = MAX_POLICY_FILE_BYTES + (MAX_POLICY_FILE_BYTES >> 3) + (64 << 10);
const LARGE_BODY_MUTATION = "applyPolicyFile";

type BodyResult = { ok: true; body: unknown; large: boolean } | { ok: false; status: number; message: string };
const TOO_LARGE: BodyResult = { ok: false, status: 413, message: "request body too large" };

/** Whether `body` is exactly one operation: a mutation selecting only `applyPolicyFile`. */
export function isPolicyFileUpload(body: unknown): boolean {
  const query = (body as { query?: unknown } | null)?.query;
  if (typeof query !== "string" || query.length > 4096) return false;
  let document;
  try {
    document = parse(query, { maxTokens: 200 });
  } catch {
    return false;
  }
  if (document.definitions.length !== 1) return false;
  const op = document.definitions[0]!;
  return (
    op.kind === Kind.OPERATION_DEFINITION &&
    op.operation === "mutation" &&
    op.selectionSet.selections.length === 1 &&
    op.selectionSet.selections[0]!.kind === Kind.FIELD &&
    op.selectionSet.selections[0]!.name.value === LARGE_BODY_MUTATION
  );
}

/** `admitLargeBody` for a context with lazy authentication: the caller's credential must be valid. */
export function authenticatedCaller<C extends { auth(): Promise<{ ok: boolean }> }>(context: (req: IncomingMessage) => Promise<C>): (req: IncomingMessage) => Promise<boolean> {
  return async (req) => (await (await context(req)).auth()).ok;
}

let largeBodyBusy = false;

async function readJson(req: IncomingMessage, admitLarge: ((req: IncomingMessage) => Promise<boolean>) | undefined): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  let large = false;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_GRAPHQL_BODY && !large) {
        // Decide once, when the body crosses 1 MiB: authenticated, and the only large body in flight.
        if (admitLarge === undefined || largeBodyBusy || !(await admitLarge(req))) return TOO_LARGE;
        largeBodyBusy = large = true;
      }
      if (size > MAX_POLICY_FILE_BODY) return TOO_LARGE;
      chunks.push(chunk as Buffer);
    }
    if (size === 0) return { ok: true, body: undefined, large };
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return { ok: false, status: 400, message: "request body is not valid JSON" };
    }
    if (large && !isPolicyFileUpload(body)) return TOO_LARGE;
    return { ok: true, body, large };
  } finally {
    if (large) largeBodyBusy = false;
  }
}

/**
 * True when any string in `value` (query, variables, names; keys included) holds U+0000:
 * PostgreSQL cannot store it, so it would surface as INTERNAL from deep inside a write.
 */
export function containsNul(value: unknown): boolean {
  // Iterative: a deeply nested body must not overflow the stack.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (v.includes("\u0000")) return true;
    } else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) stack.push(k, x);
  }
  return false;
}

/**
 * Serves an Apollo Server on node:http without a framework: the request is turned into
 * Apollo's HTTPGraphQLRequest (bounded body: 1 MiB, a policy file upload more), the context is built per request, and the
 * answer is written back (streamed chunks for incremental delivery).
 */
export function graphqlHandler<C extends BaseContext>(
  apollo: ApolloServer<C>,
  context: (req: IncomingMessage) => Promise<C>,
  /** Whether the caller may send a body over 1 MiB (an `applyPolicyFile` upload): authenticated. */
  admitLargeBody?: (req: IncomingMessage) => Promise<boolean>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const body = await readJson(req, admitLargeBody);
    if (!body.ok) {
      res.writeHead(body.status, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ message: body.message, extensions: { code: "BAD_REQUEST" } }] }));
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    if (containsNul(body.body) || containsNul([...url.searchParams.values()])) {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ message: "strings must not contain U+0000", extensions: { code: "BAD_USER_INPUT" } }] }));
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? "GET", headers, search: url.search, body: body.body },
      context: () => context(req),
    });
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === "complete") {
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
