import { createHmac, randomBytes } from "node:crypto";

const PSEUDONYM_MEMO_LIMIT = 10_000;

/**
 * Per-exchange masking state: an HMAC key for pseudonyms (same input → same token under one
 * key) and the counts of what was masked, by label. Create one per proxied exchange. The key is
 * the scope's (a thread's, see pseudonym-scope.ts) so turns of a thread share pseudonyms, or a
 * random one, unlinkable to anything else.
 */
export class MaskSession {
  /** How many values each label masked in this session. */
  readonly counts: Record<string, number> = Object.create(null) as Record<string, number>;
  private key: Uint8Array | undefined;
  private readonly memo = new Map<string, string>();

  /**
   * `key`: the scope's pseudonym key; by default a fresh 32-byte random key, drawn only when a
   * first pseudonym is made (most exchanges make none: drawing it up front cost ~12 µs per request).
   */
  constructor(key?: Uint8Array) {
    this.key = key;
  }

  /** The pseudonym key (drawn now if none yet): a masking worker masks with the same key (pool.ts). */
  sharedKey(): Uint8Array {
    return (this.key ??= randomBytes(32));
  }

  /** Adds counts made elsewhere under this session's key (a masking worker's). */
  addCounts(counts: Readonly<Record<string, number>>): void {
    for (const [label, n] of Object.entries(counts)) this.counts[label] = (this.counts[label] ?? 0) + n;
  }

  /** Records one masked value under `label`. */
  count(label: string): void {
    this.counts[label] = (this.counts[label] ?? 0) + 1;
  }

  /** 8 hex digits of HMAC-SHA256(key, label NUL value): a stable, non-reversible token. */
  pseudonym(label: string, value: string): string {
    const memoKey = `${label}\u0000${value}`;
    let token = this.memo.get(memoKey);
    if (token === undefined) {
      token = createHmac("sha256", (this.key ??= randomBytes(32))).update(memoKey).digest("hex").slice(0, 8);
      // Memoise short values only (emails, tokens), bounded: the memo is a cache, not a log.
      if (value.length <= 256) {
        if (this.memo.size >= PSEUDONYM_MEMO_LIMIT) this.memo.clear();
        this.memo.set(memoKey, token);
      }
    }
    return token;
  }
}
