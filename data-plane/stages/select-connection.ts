import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";

/**
 * Picks the upstream: the `/c/{name}` path prefix, else the proxy's configured default,
 * else the only connection of the snapshot.
 */
export function selectConnection(ctx: RequestContext): Outcome {
  const { policy } = ctx.state;
  const name = ctx.req.connectionName ?? ctx.services.defaultConnection;
  const conn = name !== undefined
    ? policy.connectionsByName.get(name) ?? policy.connections.get(name)
    : policy.connections.size === 1
      ? policy.connections.values().next().value
      : undefined;
  if (!conn) return deny("NOT_FOUND", name ? `unknown connection ${JSON.stringify(name)}` : "no upstream connection is configured for this proxy", "connection-unknown");
  ctx.connection = conn;
  return CONTINUE;
}
