/**
 * The proxy's side of PolicyService.Watch (DESIGN.md §3): keeps one Watch stream open to
 * the control plane, applies each snapshot to the store (monotonic: older ones are dropped
 * by the store), acks what it applied and nacks what failed to compile (the last good
 * snapshot stays in force), and reconnects forever with exponential backoff and full
 * jitter. It never throws into the process: every failure becomes a log line and `status()`.
 *
 * Configuration comes from data-plane/config.ts, not from the environment directly.
 * Suggested variables: AGENTGATE_CONTROL_PLANE_GRPC (address), AGENTGATE_PROXY_ID,
 * AGENTGATE_PROXY_TOKEN, AGENTGATE_CONTROL_PLANE_CA_FILE (→ `tls.ca`),
 * AGENTGATE_PROXY_TLS_CERT_FILE / AGENTGATE_PROXY_TLS_KEY_FILE (→ `tls.cert`/`tls.key`, mTLS),
 * AGENTGATE_GRPC_INSECURE=1 (→ `allowInsecure`, plaintext to a non-loopback host).
 */
import * as grpc from "@grpc/grpc-js";
import { bearerInterceptor, callUnary, channelCredentials, makeGrpcClient } from "../../proto/grpc-adapter.js";
import { PolicyService, SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { decodeSnapshot } from "../policy/snapshot-wire.js";
import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { DeltaBaseMismatchError, type ApplyOutcome } from "../policy/snapshot-store.js";
import type { ControlPlaneClientOptions } from "./control-plane-client.js";
import { writeLog } from "../../common/observability/log.js";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";

/** Structured log sink: one event, plain fields, never secrets. */
export type SyncLog = (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

/** Default `SyncLog`: one JSON line on stderr (bigints as strings). */
export const jsonLineLog: SyncLog = writeLog;

/** What the watch client needs from the snapshot store (`SnapshotStore<T>` satisfies it). */
export interface WatchStore {
  current(): { readonly version: bigint } | undefined;
  /** The store applies deltas (Snapshot.base_version set): the client asks the control plane for them. */
  readonly acceptsDelta?: boolean;
  /** Compiles and swaps in; throws if the snapshot is invalid (the last good one stays). */
  apply(snapshot: Snapshot): Promise<ApplyOutcome> | ApplyOutcome;
  /**
   * Like `apply`, but returns once the snapshot is in force, before its disk copy is written
   * (`saved`: that copy's warnings). Preferred when present: a change is enforced and acked
   * without waiting for fsync.
   */
  applyNow?(snapshot: Snapshot): Promise<{ outcome: ApplyOutcome; saved: Promise<string[]> }> | { outcome: ApplyOutcome; saved: Promise<string[]> };
  /** Resolves once queued disk writes are done. */
  flushed?(): Promise<void>;
}

/** Options of `startWatch`. */
export interface WatchClientOptions extends ControlPlaneClientOptions {
  /** Where this proxy serves HTTP, shown in the admin's proxies view. */
  advertisedAddress: string;
  store: WatchStore;
  /** Called after each snapshot is swapped in (e.g. metrics). Errors are logged, not thrown. */
  onApplied?: (version: bigint) => void;
  /** A stream that stayed up this long resets the backoff; default 5000 ms. */
  healthyAfterMs?: number;
  /** Deadline of each Ack call; default 5000 ms. */
  ackTimeoutMs?: number;
}

/** What /readyz and metrics read. */
export interface WatchStatus {
  /** A Watch stream is established (response headers received) right now. */
  connected: boolean;
  /** Version in force, null before any snapshot. */
  lastVersion: bigint | null;
  /** The newest problem still relevant: a rejected snapshot (until one applies) or a stream error (until reconnected). */
  lastError: string | null;
  /** The version of the last rejected snapshot, until a later one applies. */
  rejectedVersion: bigint | null;
  /** Streams opened since start (the first one included). */
  connects: number;
}

/** A running watch. */
export interface WatchHandle {
  status(): WatchStatus;
  /** Cancels the stream, stops reconnecting, closes the channel; resolves after an in-flight apply. */
  stop(): Promise<void>;
}

// Large snapshots keep their role bindings on the wire until the store indexes them (snapshot-wire.ts).
const WATCH_DECODERS = new Map([[SnapshotSchema.typeName, (bytes: Uint8Array) => decodeSnapshot(bytes)]]);

// Errors travel to logs and to the control plane (nack): bound them.
const MAX_ERROR = 500;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, MAX_ERROR);

/** Starts watching the control plane for snapshots. Returns at once; connecting happens in the background. */
export function startWatch(options: WatchClientOptions): WatchHandle {
  const log = options.log ?? jsonLineLog;
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const healthyAfterMs = options.healthyAfterMs ?? 5000;
  const ackTimeoutMs = options.ackTimeoutMs ?? 5000;
  const { store, proxyId } = options;

  const client = makeGrpcClient(PolicyService, options.address, channelCredentials(options.address, options.tls, options.allowInsecure), {
    interceptors: [bearerInterceptor(options.proxyToken)],
    // Align the channel's own reconnect backoff with ours; its default grows to 120 s,
    // which would keep failing our attempts long after the control plane is back.
    "grpc.initial_reconnect_backoff_ms": policy.baseMs,
    "grpc.max_reconnect_backoff_ms": policy.capMs,
    "grpc.keepalive_time_ms": options.keepalive?.timeMs ?? 30_000,
    "grpc.keepalive_timeout_ms": options.keepalive?.timeoutMs ?? 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    // Snapshots grow with the number of policies; the 4 MiB default is too tight.
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  }, WATCH_DECODERS);

  let stopped = false;
  let stream: grpc.ClientReadableStream<Snapshot> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let connects = 0;
  let connected = false;
  let streamError: string | null = null;
  let applyError: string | null = null;
  let rejectedVersion: bigint | null = null;

  // Snapshots are applied one at a time, in order. A full snapshot replaces everything
  // waiting (state of the world: intermediate versions are worthless); a delta joins the
  // queue, since it applies only on top of the one before it.
  let waiting: Snapshot[] = [];
  let draining: Promise<void> | undefined;

  function ack(version: bigint, error: string): void {
    callUnary(client, "ack", { proxyId, version, error }, { deadline: ackTimeoutMs }).catch((e: unknown) => {
      // Not fatal: the next Watch carries last_version, which tells the control plane anyway.
      log("debug", "ack failed", { version, error: messageOf(e) });
    });
  }

  async function applyOne(snapshot: Snapshot): Promise<void> {
    const version = snapshot.version;
    let outcome: ApplyOutcome;
    let saved: Promise<string[]> | undefined;
    try {
      if (store.applyNow) ({ outcome, saved } = await store.applyNow(snapshot));
      else outcome = await store.apply(snapshot);
    } catch (e) {
      if (e instanceof DeltaBaseMismatchError) {
        // Not a bad policy: this proxy missed the delta's base. Reopen the stream from the
        // version in force; the control plane answers with a delta from there or a full snapshot.
        log("warn", "delta does not apply to the version in force; resyncing", { version, baseVersion: e.baseVersion, currentVersion: e.currentVersion ?? null });
        waiting = [];
        resync();
        return;
      }
      applyError = `snapshot ${version} rejected: ${messageOf(e)}`;
      rejectedVersion = version;
      log("error", "snapshot rejected; keeping last good", { version, keptVersion: store.current()?.version ?? null, error: messageOf(e) });
      ack(version, messageOf(e));
      return;
    }
    if (outcome.kind === "stale") {
      // Equal: a resend after a reconnect race; we do run it, so ack. Older: the control
      // plane is behind us (restored DB?); say so rather than silently ignoring it.
      const older = outcome.version < outcome.currentVersion;
      log(older ? "warn" : "debug", "stale snapshot dropped", { version, currentVersion: outcome.currentVersion });
      ack(version, older ? `stale snapshot ${version} dropped; proxy runs ${outcome.currentVersion}` : "");
      return;
    }
    const warn = (warning: string) => log("warn", "snapshot applied with a warning", { version, warning });
    outcome.warnings.forEach(warn);
    void saved?.then((warnings) => warnings.forEach(warn));
    applyError = null;
    rejectedVersion = null;
    log("info", "snapshot applied", { version });
    try {
      options.onApplied?.(version);
    } catch (e) {
      log("warn", "onApplied hook failed", { version, error: messageOf(e) });
    }
    ack(version, "");
  }

  function enqueue(snapshot: Snapshot): void {
    if (snapshot.baseVersion === 0n) waiting = [snapshot];
    else waiting.push(snapshot);
    draining ??= (async () => {
      for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) await applyOne(next);
      draining = undefined;
    })();
  }

  /** Ends the current stream so the reconnect asks again from the version in force (no backoff). */
  function resync(): void {
    const call = stream;
    if (call === undefined) return;
    stream = undefined;
    connected = false;
    call.cancel();
    if (!stopped) timer = setTimeout(connect, 0);
  }

  function connect(): void {
    timer = undefined;
    if (stopped) return;
    const lastVersion = store.current()?.version ?? 0n;
    // What an ended stream left queued is superseded: the new stream starts from the version in
    // force (a delta from there, or a full snapshot). Applying the leftovers first would move the
    // version past `lastVersion`, and the new stream's first delta would then not apply (resync).
    waiting = [];
    let establishedAt: number | undefined;
    const call = client.watch({ proxyId, lastVersion, address: options.advertisedAddress, acceptsDelta: store.acceptsDelta === true });
    stream = call;
    call.on("metadata", () => {
      establishedAt = Date.now();
      connected = true;
      connects += 1;
      streamError = null;
      log("info", "watch connected", { address: options.address, lastVersion });
    });
    // After a resync the old stream's buffered messages are worthless: only the open stream counts.
    call.on("data", (snapshot: Snapshot) => stream === call && enqueue(snapshot));
    // An 'error' listener is mandatory (an unhandled one would crash the process); the
    // 'status' event that always follows does the bookkeeping.
    call.on("error", () => undefined);
    call.on("status", (status: grpc.StatusObject) => {
      if (stream !== call) return;
      stream = undefined;
      connected = false;
      if (stopped) return;
      const healthy = establishedAt !== undefined && Date.now() - establishedAt >= healthyAfterMs;
      if (healthy) failures = 0;
      const delay = backoffDelay(failures, policy, options.random);
      failures += 1;
      const detail = `${grpc.status[status.code] ?? status.code}: ${status.details}`.slice(0, MAX_ERROR);
      if (status.code !== grpc.status.OK) streamError = detail;
      // UNAUTHENTICATED is a configuration problem an operator must see; the rest is weather.
      log(status.code === grpc.status.UNAUTHENTICATED ? "error" : "warn", "watch stream ended; reconnecting", {
        address: options.address,
        status: detail,
        retryInMs: delay,
      });
      timer = setTimeout(connect, delay);
    });
  }

  connect();

  return {
    status: () => ({
      connected,
      lastVersion: store.current()?.version ?? null,
      lastError: applyError ?? streamError,
      rejectedVersion,
      connects,
    }),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      stream?.cancel();
      stream = undefined;
      connected = false;
      waiting = [];
      await draining;
      await store.flushed?.();
      client.close();
    },
  };
}
