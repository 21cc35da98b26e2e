/**
 * The control plane's gRPC server (DESIGN.md §3): hosts the services handed to it, with
 * the proxy-token check on every call, TLS (or plaintext on loopback for development)
 * and keepalive so dead proxies are noticed and their status goes `connected: false`.
 *
 * Environment (read by `grpcServerTlsFromEnv`, for control-plane/config.ts to use):
 * - `AGENTGATE_GRPC_TLS_CERT_FILE`, `AGENTGATE_GRPC_TLS_KEY_FILE`: PEM server certificate
 *   chain and key; both or neither.
 * - `AGENTGATE_GRPC_TLS_CA_FILE`: PEM CA bundle; when set, proxies must present a client
 *   certificate signed by it (mTLS) in addition to the bearer token.
 * The proxy token itself (e.g. `AGENTGATE_PROXY_TOKEN`, comma-separated for rotation) is
 * passed in as `proxyToken`.
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { isLoopbackHost } from "../../proto/grpc-adapter.js";
import type { GrpcServiceBinding, TlsFiles } from "../../proto/grpc-adapter.js";
import type { GrpcLog } from "./log.js";
import { jsonLineLog } from "./log.js";
import { proxyAuthInterceptor } from "./proxy-auth.js";

/** Server TLS material: certificate chain and key; `ca` turns on required client certificates (mTLS). */
export interface GrpcServerTls {
  cert: Buffer | string;
  key: Buffer | string;
  ca?: Buffer | string;
}

/** Options of `startGrpcServer`. */
export interface GrpcServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Accepted proxy bearer token(s); several allow rotation. */
  proxyToken: string | readonly string[];
  tls?: GrpcServerTls;
  /** Allow plaintext on a non-loopback interface (e.g. inside a private container network). Default false. */
  allowInsecure?: boolean;
  /** Services to host, from `bindGrpcService(...)`. */
  services: readonly GrpcServiceBinding[];
  /** Server-sent HTTP/2 pings: interval and how long to wait for the answer. */
  keepalive?: { timeMs?: number; timeoutMs?: number };
  /** Largest accepted request message (session batches); default 16 MiB. */
  maxReceiveBytes?: number;
  log?: GrpcLog;
}

/** A running server. */
export interface GrpcServerHandle {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** "host:port" as a client would dial it. */
  readonly address: string;
  /**
   * Stops accepting calls and waits up to `graceMs` (default 5000) for calls to finish,
   * then cancels the rest (Watch streams never finish on their own).
   */
  stop(graceMs?: number): Promise<void>;
}

/** Reads the TLS env vars documented above; undefined when none is set. Throws on half a configuration. */
export function grpcServerTlsFromEnv(env: NodeJS.ProcessEnv = process.env): GrpcServerTls | undefined {
  const certFile = env.AGENTGATE_GRPC_TLS_CERT_FILE;
  const keyFile = env.AGENTGATE_GRPC_TLS_KEY_FILE;
  const caFile = env.AGENTGATE_GRPC_TLS_CA_FILE;
  if (!certFile && !keyFile && !caFile) return undefined;
  if (!certFile || !keyFile) throw new Error("AGENTGATE_GRPC_TLS_CERT_FILE and AGENTGATE_GRPC_TLS_KEY_FILE must be set together");
  const tls: GrpcServerTls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  if (caFile) tls.ca = readFileSync(caFile);
  return tls;
}

function serverCredentials(tls: TlsFiles | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  const toBuffer = (v: Buffer | string): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v));
  if (tls.cert === undefined || tls.key === undefined) throw new Error("gRPC TLS needs both cert and key");
  const ca = tls.ca === undefined ? null : toBuffer(tls.ca);
  // With a CA configured, client certificates are required, not merely requested.
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: toBuffer(tls.cert), private_key: toBuffer(tls.key) }], ca !== null);
}

/** Starts the control plane's gRPC server with proxy-token authentication on every call. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? jsonLineLog;
  if (options.tls === undefined && !options.allowInsecure && !isLoopbackHost(host)) {
    // Snapshots carry upstream credentials and the bearer token would travel in clear.
    throw new Error(`refusing plaintext gRPC on non-loopback ${host}: configure TLS or set allowInsecure`);
  }
  const server = new grpc.Server({
    interceptors: [proxyAuthInterceptor(options.proxyToken, log)],
    "grpc.keepalive_time_ms": options.keepalive?.timeMs ?? 30_000,
    "grpc.keepalive_timeout_ms": options.keepalive?.timeoutMs ?? 10_000,
    "grpc.max_receive_message_length": options.maxReceiveBytes ?? 16 * 1024 * 1024,
  });
  for (const binding of options.services) binding.addTo(server);

  const bindHost = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${bindHost}:${options.port}`, serverCredentials(options.tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `${bindHost}:${port}`;
  log("info", "grpc server listening", {
    address,
    tls: options.tls !== undefined,
    mtls: options.tls?.ca !== undefined,
    services: options.services.map((s) => s.typeName),
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
    address,
    stop(graceMs = 5000) {
      stopping ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          log("info", "grpc server stopped", { address });
          resolve();
        });
      });
      return stopping;
    },
  };
}
