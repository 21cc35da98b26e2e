import type { TlsFiles } from "../../proto/grpc-adapter.js";
import type { BackoffPolicy } from "./backoff.js";
import type { SyncLog } from "./watch-client.js";

/** What every long-lived proxy → control-plane stream client (watch, report) is configured with. */
export interface ControlPlaneClientOptions {
  /** Control-plane gRPC target, e.g. "control-plane:50051". */
  address: string;
  proxyId: string;
  proxyToken: string;
  /** TLS to the control plane; plaintext only to loopback unless `allowInsecure`. */
  tls?: TlsFiles;
  allowInsecure?: boolean;
  backoff?: BackoffPolicy;
  /** Client keepalive pings on the long-lived stream (detects a silently dead control plane). */
  keepalive?: { timeMs?: number; timeoutMs?: number };
  log?: SyncLog;
  /** Random source of the jitter (tests). */
  random?: () => number;
}
