import type { Db } from "../store/client.js";
import type { SnapshotPublisher } from "../snapshot/publisher.js";
import type { ProxyStatusRegistry } from "../snapshot/status.js";
import type { AdminDeps } from "../admin/deps.js";
import type { AuthResult } from "../auth/principal.js";

/** What every resolver can reach: the store, the live snapshot state, the admin services and the caller. */
export interface GraphqlContext {
  readonly db: Db;
  readonly provider: "sqlite" | "postgresql";
  readonly publisher: SnapshotPublisher;
  readonly proxies: ProxyStatusRegistry;
  /** Dependencies of the admin domain services. */
  readonly admin: AdminDeps;
  /**
   * Who is calling. Lazy and memoized per request: the public `health` query costs no
   * authentication, and a query with many fields authenticates once.
   */
  auth(): Promise<AuthResult>;
}
