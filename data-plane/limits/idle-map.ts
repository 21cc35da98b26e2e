/**
 * A Map whose memory stays bounded without a timer per key: every write also inspects the two
 * oldest entries, dropping them if idle (their state equals "absent", e.g. a full bucket) or
 * moving them to the back otherwise, like a clock hand. A hard cap evicts the oldest entry even if
 * it still holds state; for a limiter that means forgetting a recent history, which errs towards
 * allowing, so the cap is set far above the expected number of active keys and evictions are counted.
 */
export class IdleMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #maxSize: number;
  readonly #isIdle: (value: V, now: number) => boolean;
  readonly #onEvict: () => void;

  /**
   * @param maxSize hard cap on entries
   * @param isIdle true when dropping the entry changes no future decision at time `now`
   * @param onEvict called for each entry dropped by the cap while not idle
   */
  constructor(maxSize: number, isIdle: (value: V, now: number) => boolean, onEvict: () => void = () => {}) {
    this.#maxSize = Math.max(1, maxSize);
    this.#isIdle = isIdle;
    this.#onEvict = onEvict;
  }

  /** Number of entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry for `key`, if any (does not count as a use). */
  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  /** Stores `value` as the most recently used entry, then does a bounded amount of cleanup. */
  set(key: string, value: V, now: number): void {
    // Delete first so the key moves to the back of the insertion order.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    this.#sweep(now, 2);
    while (this.#entries.size > this.#maxSize) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      const v = this.#entries.get(oldest.value);
      this.#entries.delete(oldest.value);
      if (v !== undefined && !this.#isIdle(v, now)) this.#onEvict();
    }
  }

  /** Removes `key`. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }

  #sweep(now: number, budget: number): void {
    for (let i = 0; i < budget && this.#entries.size > 1; i++) {
      const oldest = this.#entries.entries().next();
      if (oldest.done) return;
      const [key, value] = oldest.value;
      this.#entries.delete(key);
      // Still in use: rotate it to the back so the hand moves on.
      if (!this.#isIdle(value, now)) this.#entries.set(key, value);
    }
  }
}
