import type { CompiledProfile } from "./profile.js";
import type { MaskSession } from "./session.js";
import { eventNameOf, SseMasker, type SseMaskerOptions } from "./sse.js";
import { DEFAULT_MAX_EVENT_CHARS, SseParser, type SseBlock } from "./sse-parser.js";
import { sharedMaskPool, type MaskPool } from "./pool.js";

/**
 * Events below this many characters are masked inline on the event loop; larger ones by the
 * masking pool. Same bound as for bodies (pool.ts INLINE_MAX_BYTES): the worst hostile event
 * shape just under it costs a few ms of CPU (sse-bounded.test.ts measures it).
 */
export const SSE_INLINE_MAX_CHARS = 16 * 1024;
/** Inline masking between two turns of the event loop, in event characters (many small events in one chunk). */
const INLINE_SLICE_CHARS = 32 * 1024;

/** Thrown when an event could not be masked within the pool's bounds: the caller cuts the stream (fail closed). */
export class SseMaskBoundError extends Error {
  constructor(reason: string) {
    super(`an event of the stream could not be masked within the gateway's bounds (${reason})`);
    this.name = "SseMaskBoundError";
  }
}

export interface BoundedSseMaskerOptions extends SseMaskerOptions {
  pool?: MaskPool;
  /** Events of at least this many characters go to the pool (default SSE_INLINE_MAX_CHARS). */
  inlineMaxChars?: number;
}

const setImmediateP = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * SseMasker with the event loop bounded: events are parsed here, small ones masked inline,
 * each large one masked by a worker of the masking pool together with the state of the
 * streams it can touch (SseMasker.takeStreams: their hold-backs, templates, cumulative text),
 * which comes back with the masked event. So the hold-back guarantee is the same as
 * SseMasker's — per logical text, never released by an unrelated event — and events leave
 * in order (one at a time). Inline work yields to the event loop every 32 K characters. An
 * event the pool cannot mask within its bounds rejects with SseMaskBoundError: nothing of it
 * is emitted and the caller must cut the stream.
 */
export class BoundedSseMasker {
  private readonly parser: SseParser;
  private readonly masker: SseMasker;
  private readonly pool: MaskPool;
  private readonly inlineMax: number;

  constructor(
    private readonly profile: CompiledProfile,
    private readonly session: MaskSession,
    private readonly opts: BoundedSseMaskerOptions = {},
  ) {
    this.parser = new SseParser(opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS);
    this.masker = new SseMasker(profile, session, opts);
    this.pool = opts.pool ?? sharedMaskPool();
    this.inlineMax = opts.inlineMaxChars ?? SSE_INLINE_MAX_CHARS;
  }

  /** Feeds a chunk of the upstream stream; resolves to the masked events it completed (maybe ""). */
  async push(chunk: Uint8Array | string): Promise<string> {
    return this.mask(this.parser.push(chunk));
  }

  /** Ends the stream: an unterminated last event and every held tail. */
  async end(): Promise<string> {
    const out = await this.mask(this.parser.end());
    return out + this.masker.endStreams(); // at most maxHold characters per held text
  }

  private async mask(blocks: readonly SseBlock[]): Promise<string> {
    let out = "";
    let inline = 0;
    for (const block of blocks) {
      const chars = charsOf(block);
      if (chars >= this.inlineMax) {
        out += await this.remote(block);
        continue;
      }
      if (inline + chars > INLINE_SLICE_CHARS) {
        await setImmediateP();
        inline = 0;
      }
      inline += chars;
      out += this.masker.maskBlock(block);
    }
    return out;
  }

  private async remote(block: SseBlock): Promise<string> {
    const { streams, others } = this.masker.takeStreams(eventNameOf(block));
    const r = await this.pool.maskSseEvent({ block, streams, others, maxHold: this.opts.maxHold }, this.profile, this.session);
    if (!r.ok) throw new SseMaskBoundError(r.reason); // the streams taken are gone with it: nothing more is emitted
    this.masker.putStreams(r.sse.streams);
    for (const [event, data] of r.sse.events) this.opts.onEvent?.(event, data);
    return r.sse.out;
  }
}

function charsOf(block: SseBlock): number {
  let n = 0;
  for (const f of block.fields) n += f.name.length + f.value.length + 2;
  return n;
}
