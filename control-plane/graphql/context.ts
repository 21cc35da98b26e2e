import type { Db } from "../store/client.js";
import type { SnapshotPublisher } from "../snapshot/publisher.js";
import type { ProxyStatusRegistry } from "../snapshot/status.js";

/** What every resolver can reach: the store and the live snapshot state. */
export interface GraphqlContext {
  readonly db: Db;
  readonly provider: "sqlite" | "postgresql";
  readonly publisher: SnapshotPublisher;
  readonly proxies: ProxyStatusRegistry;
}
