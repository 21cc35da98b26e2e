/**
 * Which proxy runs which snapshot version (DESIGN.md §3): fed by PolicyService.Watch
 * (connect/disconnect, the version the proxy says it already has) and PolicyService.Ack
 * (ack or nack of each version sent). In memory only; `onChange` lets someone persist it,
 * and the GraphQL layer reads `list()`.
 *
 * With several control-plane replicas each one knows only the proxies talking to it.
 */

/** What the control plane knows about one proxy. Plain data; every read returns a copy. */
export interface ProxyStatus {
  readonly proxyId: string;
  /** Where the proxy serves HTTP, as it advertised it ("" if it did not). */
  readonly address: string;
  /** Newest version the proxy reported as applied; null until it reports one. */
  readonly ackedVersion: bigint | null;
  /** Why the proxy rejected `rejectedVersion` (a nack); null after a later successful ack. */
  readonly lastError: string | null;
  /** The version the last nack was about; null when `lastError` is null. */
  readonly rejectedVersion: bigint | null;
  /** Last time the proxy connected, acked or disconnected. */
  readonly lastSeen: Date;
  /** Whether at least one Watch stream of this proxy is open on this control plane. */
  readonly connected: boolean;
}

/** Receives each changed entry (after the change). */
export type ProxyStatusListener = (status: ProxyStatus) => void;

interface Entry {
  proxyId: string;
  address: string;
  ackedVersion: bigint | null;
  lastError: string | null;
  rejectedVersion: bigint | null;
  lastSeen: Date;
  // A count, not a flag: a reconnecting proxy can open its new stream before the server
  // notices the old one is gone, and closing the old one must not mark it disconnected.
  streams: number;
}

/** Registry of per-proxy sync status, keyed by proxy id. */
export class ProxyStatusRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<ProxyStatusListener>();
  readonly #now: () => Date;

  /** `now` is injectable so tests can freeze the clock. */
  constructor(options: { now?: () => Date } = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Records an opened Watch stream. `lastVersion` is what the proxy already applied (it
   * says so on connect), so a restarted control plane learns versions without new acks.
   * Returns the function to call when that stream closes (idempotent).
   */
  connected(proxyId: string, info: { address: string; lastVersion: bigint }): () => void {
    const entry = this.#entry(proxyId);
    entry.streams += 1;
    if (info.address !== "") entry.address = info.address;
    if (info.lastVersion > 0n) this.#raiseAcked(entry, info.lastVersion);
    this.#touch(entry);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      entry.streams -= 1;
      this.#touch(entry);
    };
  }

  /** Records an ack (`error` empty) or a nack (`error` set) of `version`. */
  ack(proxyId: string, version: bigint, error: string): void {
    const entry = this.#entry(proxyId);
    if (error === "") {
      this.#raiseAcked(entry, version);
      entry.lastError = null;
      entry.rejectedVersion = null;
    } else {
      entry.lastError = error;
      entry.rejectedVersion = version;
    }
    this.#touch(entry);
  }

  /** One proxy's status, or undefined if it never connected or acked. */
  get(proxyId: string): ProxyStatus | undefined {
    const entry = this.#entries.get(proxyId);
    return entry === undefined ? undefined : snapshotOf(entry);
  }

  /** Every known proxy, sorted by id. */
  list(): ProxyStatus[] {
    return [...this.#entries.values()].sort((a, b) => (a.proxyId < b.proxyId ? -1 : 1)).map(snapshotOf);
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: ProxyStatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #entry(proxyId: string): Entry {
    let entry = this.#entries.get(proxyId);
    if (entry === undefined) {
      entry = { proxyId, address: "", ackedVersion: null, lastError: null, rejectedVersion: null, lastSeen: this.#now(), streams: 0 };
      this.#entries.set(proxyId, entry);
    }
    return entry;
  }

  // Acks travel on separate unary calls and may arrive out of order: never go backwards.
  #raiseAcked(entry: Entry, version: bigint): void {
    if (entry.ackedVersion === null || version > entry.ackedVersion) entry.ackedVersion = version;
  }

  #touch(entry: Entry): void {
    entry.lastSeen = this.#now();
    const status = snapshotOf(entry);
    for (const listener of this.#listeners) {
      // A failing persistence hook must not break the RPC that caused the change.
      try {
        listener(status);
      } catch {
        /* listener's own problem; it can log */
      }
    }
  }
}

function snapshotOf(entry: Entry): ProxyStatus {
  return Object.freeze({
    proxyId: entry.proxyId,
    address: entry.address,
    ackedVersion: entry.ackedVersion,
    lastError: entry.lastError,
    rejectedVersion: entry.rejectedVersion,
    lastSeen: new Date(entry.lastSeen.getTime()),
    connected: entry.streams > 0,
  });
}
