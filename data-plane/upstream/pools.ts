import { Pool } from "undici";
import type { CompiledConnection } from "../policy/compiled-policy.js";

/**
 * One keep-alive undici Pool per upstream connection, kept across snapshots as long as the
 * connection's URL and timeouts are unchanged (a new snapshot must not drop warm sockets).
 */
export class UpstreamPools {
  private readonly pools = new Map<string, { key: string; conn: CompiledConnection; pool: Pool }>();

  constructor(private readonly connectionsPerOrigin = 128) {}

  /** The pool for a connection, created on first use. */
  get(conn: CompiledConnection): Pool {
    const existing = this.pools.get(conn.id);
    if (existing?.conn === conn) return existing.pool; // the same compiled connection: nothing to compare
    const key = `${conn.baseUrl}|${conn.connectTimeoutMs}|${conn.headersTimeoutMs}|${conn.bodyTimeoutMs}`;
    if (existing && existing.key === key) {
      existing.conn = conn;
      return existing.pool;
    }
    if (existing) void existing.pool.close().catch(() => undefined);
    const pool = new Pool(new URL(conn.baseUrl).origin, {
      connections: this.connectionsPerOrigin,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: conn.connectTimeoutMs },
      headersTimeout: conn.headersTimeoutMs,
      bodyTimeout: conn.bodyTimeoutMs,
    });
    this.pools.set(conn.id, { key, conn, pool });
    return pool;
  }

  /** Cuts every upstream request in flight and closes the pools (the end of a shutdown's grace period). */
  async destroy(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.pool.destroy()));
    this.pools.clear();
  }

  /** Closes every pool (shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.pool.close()));
    this.pools.clear();
  }
}

const basePaths = new WeakMap<CompiledConnection, string>();

/** Path prefix of a connection's base URL ("" or "/prefix"), prepended to every upstream path (parsed once per compiled connection). */
export function basePath(conn: CompiledConnection): string {
  let path = basePaths.get(conn);
  if (path === undefined) {
    const p = new URL(conn.baseUrl).pathname;
    basePaths.set(conn, (path = p === "/" ? "" : p.replace(/\/+$/, "")));
  }
  return path;
}
