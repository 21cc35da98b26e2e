import { decodeBody, parseJsonBody, type DecodedBody } from "../../common/masking/decode.js";
import type { GatewayErrorCode } from "../errors.js";
import type { StreamMasker } from "./context.js";
import type { Reason } from "../policy/reasons.js";

/** A response stage's refusal: the caller gets this error instead of the upstream's answer. */
export interface AnswerRefusal {
  readonly status: number;
  readonly code: GatewayErrorCode;
  readonly message: string;
  readonly reason: Reason;
}

/**
 * A whole (buffered) upstream answer on its way through the response stages. The body is
 * decoded and parsed only when a stage asks (`text()`, `json()`), once; `out` is what goes to
 * the caller: the upstream's bytes untouched until a stage has to change them.
 */
export class BufferedAnswer {
  readonly kind = "buffered";
  /** What the caller receives: the upstream bytes as they came, or the text a stage made. */
  out: Buffer | string;
  /** Relayed uninspected (the profile's `passthrough: uninspectable`): recorded by size only. */
  uninspectable = false;
  /** A stage replaced the parsed value (e.g. a filtered search): it must be re-serialised. */
  replaced = false;
  #decoded: DecodedBody | undefined;
  #json: { value: unknown } | undefined | null = null;

  constructor(
    readonly bytes: Buffer,
    readonly status: number,
    readonly headers: Record<string, string | string[]>,
    readonly contentType: string,
    /** `wait`: the runs/wait text answer (keep-alive prefix already relayed). */
    readonly mode: "buffered" | "wait",
  ) {
    this.out = bytes;
  }

  /** The body as text, strictly decoded by BOM / charset (see masking/decode.ts). */
  text(): DecodedBody {
    return (this.#decoded ??= decodeBody(this.bytes, this.contentType));
  }

  /** The parsed JSON value (as a stage left it), or undefined when the body is not JSON text. */
  json(): { value: unknown } | undefined {
    if (this.#json === null) {
      const decoded = this.text();
      this.#json = decoded.ok ? parseJsonBody(decoded.text) : undefined;
    }
    return this.#json;
  }

  /** Replaces the JSON value (the caller then gets it re-serialised and masked). */
  replaceJson(value: unknown): void {
    const current = this.json();
    if (current && current.value === value) return;
    this.#json = { value };
    this.replaced = true;
  }

  /** The text the caller receives (for the record and the scrub). */
  outText(): string {
    return typeof this.out === "string" ? this.out : this.out.toString("utf8");
  }
}

/** One chunk of an upstream event stream: masked text to relay, and the events completed in it. */
export class StreamChunk {
  readonly kind = "sse";
  out = "";
  /** Masked events completed by this chunk (for usage counting and the record). */
  readonly events: Array<{ event: string; data: string }> = [];

  constructor(
    /** The chunk as it came from the upstream (empty for the end of the stream). */
    readonly bytes: Buffer,
    /** The stream ended: flush what the masker holds back. */
    readonly last: boolean,
    /** The stream's incremental masker; it reports completed events into `events`. */
    readonly masker: StreamMasker,
  ) {}
}

/** What a response stage works on. */
export type AnswerPart = BufferedAnswer | StreamChunk;
