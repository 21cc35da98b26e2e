import type { Dispatcher } from "undici";
import type { CompiledConnection } from "../policy/compiled-policy.js";
import { basePath, type UpstreamPools } from "./pools.js";

const SIDE_CALL_TIMEOUT_MS = 5_000;
const SIDE_CALL_MAX_BYTES = 1 << 20;

/** The upstream could not be reached or answered out of bounds: a 502 for the caller, not a gateway bug. */
export class UpstreamFailure extends Error {
  override readonly name = "UpstreamFailure";
}

/** Result of a small JSON call the proxy makes on its own behalf (never the caller's). */
export interface SideCallResult {
  status: number;
  json: unknown;
}

/**
 * Makes a bounded JSON request to the upstream with the connection's credential, for the
 * proxy's own needs: resolving an assistant's graph, reading a thread's owner, creating an
 * owned thread. Bounded in time and size; throws UpstreamFailure on transport failure.
 */
export async function sideCall(
  pools: UpstreamPools,
  conn: CompiledConnection,
  method: Dispatcher.HttpMethod,
  path: string,
  body?: unknown,
): Promise<SideCallResult> {
  try {
    return await boundedJsonCall(pools, conn, method, path, body);
  } catch (err) {
    throw err instanceof UpstreamFailure ? err : new UpstreamFailure(`upstream side call ${method} ${path} failed`, { cause: err });
  }
}

async function boundedJsonCall(
  pools: UpstreamPools,
  conn: CompiledConnection,
  method: Dispatcher.HttpMethod,
  path: string,
  body?: unknown,
): Promise<SideCallResult> {
  const headers: Record<string, string> = { accept: "application/json", [conn.credentialHeader]: conn.credential };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await pools.get(conn).request({
    method,
    path: basePath(conn) + path,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    headersTimeout: SIDE_CALL_TIMEOUT_MS,
    bodyTimeout: SIDE_CALL_TIMEOUT_MS,
  });
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > SIDE_CALL_MAX_BYTES) {
      res.body.destroy();
      throw new UpstreamFailure(`upstream answer to ${method} ${path} exceeds ${SIDE_CALL_MAX_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json };
}
