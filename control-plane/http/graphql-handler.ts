import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext } from "@apollo/server";

/** Largest GraphQL request body accepted (queries are small; bulk data goes elsewhere). */
export const MAX_GRAPHQL_BODY = 1 << 20;

async function readJson(req: IncomingMessage): Promise<{ ok: true; body: unknown } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_GRAPHQL_BODY) return { ok: false, status: 413, message: "request body too large" };
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return { ok: true, body: undefined };
  try {
    return { ok: true, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
  } catch {
    return { ok: false, status: 400, message: "request body is not valid JSON" };
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
 * Apollo's HTTPGraphQLRequest (bounded body), the context is built per request, and the
 * answer is written back (streamed chunks for incremental delivery).
 */
export function graphqlHandler<C extends BaseContext>(
  apollo: ApolloServer<C>,
  context: (req: IncomingMessage) => Promise<C>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const body = await readJson(req);
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
