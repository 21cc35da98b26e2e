/**
 * RFC 9562 UUIDv7 session ids: 48-bit Unix-ms timestamp, version 7, a 12-bit counter in
 * `rand_a` (RFC 9562 §6.2 method 1) and 62 random bits in `rand_b`.
 *
 * Why a counter: ids made in the same millisecond must still sort in creation order, so
 * the control plane can page sessions by id and the spool's order matches the id order.
 */
import { randomFillSync } from "node:crypto";

/** What a generator needs from the outside world; injected so tests can freeze the clock. */
export interface UuidV7Sources {
  /** Current Unix time in milliseconds. */
  now(): number;
  /** Fills `buf` with cryptographically strong random bytes. */
  randomFill(buf: Uint8Array): void;
}

const COUNTER_MAX = 0xfff;
// A fresh millisecond seeds the counter randomly but below 0x800, leaving at least 2048
// increments of head-room before it overflows (RFC 9562 §6.2, "counter rollover guards").
const COUNTER_SEED_MASK = 0x7ff;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

const defaultSources: UuidV7Sources = {
  now: () => Date.now(),
  randomFill: (buf) => randomFillSync(buf),
};

/**
 * Returns a UUIDv7 generator with its own monotonic state. Ids from one generator are
 * strictly increasing (as strings and as bytes), even if the wall clock steps back or
 * more than 4096 ids are made in one millisecond: then the timestamp runs ahead of the
 * clock by a little, as RFC 9562 §6.2 allows, rather than repeating or reordering.
 */
export function createUuidV7(sources: UuidV7Sources = defaultSources): () => string {
  let lastMs = -1;
  let counter = 0;
  const bytes = new Uint8Array(16);
  // Random bytes are drawn in bulk: one syscall-backed fill per 256 ids instead of per id.
  const pool = new Uint8Array(256 * 10);
  let poolPos = pool.length;

  return function uuidv7(): string {
    if (poolPos + 10 > pool.length) {
      sources.randomFill(pool);
      poolPos = 0;
    }
    const now = Math.floor(sources.now());
    if (now > lastMs) {
      lastMs = now;
      counter = ((pool[poolPos]! << 8) | pool[poolPos + 1]!) & COUNTER_SEED_MASK;
    } else if (counter < COUNTER_MAX) {
      counter++;
    } else {
      // Counter exhausted within this millisecond (or the clock went back): borrow the next one.
      lastMs++;
      counter = ((pool[poolPos]! << 8) | pool[poolPos + 1]!) & COUNTER_SEED_MASK;
    }
    // 48-bit big-endian timestamp; split because bitwise ops in JS are 32-bit.
    const hi = Math.floor(lastMs / 0x1_0000_0000);
    const lo = lastMs >>> 0;
    bytes[0] = (hi >>> 8) & 0xff;
    bytes[1] = hi & 0xff;
    bytes[2] = lo >>> 24;
    bytes[3] = (lo >>> 16) & 0xff;
    bytes[4] = (lo >>> 8) & 0xff;
    bytes[5] = lo & 0xff;
    bytes[6] = 0x70 | (counter >>> 8); // version 7 + counter high nibble
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | (pool[poolPos + 2]! & 0x3f); // variant 0b10 + 6 random bits
    for (let i = 9; i < 16; i++) bytes[i] = pool[poolPos + i - 6]!;
    poolPos += 10;

    let s = "";
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
      s += HEX[bytes[i]!];
    }
    return s;
  };
}

/** The process-wide UUIDv7 generator (one monotonic sequence per process). */
export const uuidv7: () => string = createUuidV7();

const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** True when `id` is a lower-case, hyphenated UUID with version 7 and the RFC variant. */
export function isUuidV7(id: string): boolean {
  return UUIDV7_RE.test(id);
}

/** The Unix-ms timestamp embedded in a UUIDv7 (its first 48 bits). */
export function uuidV7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
