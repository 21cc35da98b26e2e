/**
 * One bounded GET of a JSON document from an identity provider (discovery document or JWKS).
 *
 * Why bounded: these URLs are reached on the request path when a key is missing, so a slow or
 * hostile endpoint must not hold requests (overall timeout) nor our memory (byte limit, checked
 * while streaming, not after). Redirects are not followed: a JWKS URL that redirects elsewhere
 * would let whoever controls the target choose our trusted keys.
 */
import { request, type Dispatcher } from "undici";

/** Limits of one fetch. */
export interface FetchJsonOptions {
  /** Whole exchange (connect, headers, body), in milliseconds. */
  readonly timeoutMs: number;
  /** Maximum body size in bytes. */
  readonly maxBytes: number;
  /** undici dispatcher (e.g. a proxy agent); the global one by default. */
  readonly dispatcher?: Dispatcher | undefined;
}

/** Why a fetch failed; thrown by `fetchJson` (infrastructure, mapped to a denial by the verifier). */
export class FetchJsonError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FetchJsonError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const noop = (): void => {};

/**
 * GETs `url` and parses it as JSON. Rejects with `FetchJsonError` on a non-200 status (redirects
 * included), a timeout, a body over `maxBytes`, or invalid UTF-8/JSON.
 */
export async function fetchJson(url: URL, options: FetchJsonOptions): Promise<unknown> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: "GET",
      headers: { accept: "application/json, application/jwk-set+json" },
      signal,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
  } catch (cause) {
    throw new FetchJsonError(signal.aborted ? `timed out after ${options.timeoutMs} ms` : "request failed", { cause });
  }
  const { statusCode, headers, body } = res;
  try {
    if (statusCode !== 200) throw new FetchJsonError(`expected HTTP 200, got ${statusCode}`);
    const declared = Number(headers["content-length"]);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      throw new FetchJsonError(`body larger than ${options.maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBytes) throw new FetchJsonError(`body larger than ${options.maxBytes} bytes`);
      chunks.push(chunk);
    }
    try {
      return JSON.parse(utf8.decode(Buffer.concat(chunks, size))) as unknown;
    } catch (cause) {
      throw new FetchJsonError("body is not valid UTF-8 JSON", { cause });
    }
  } catch (err) {
    // Drop the rest of the body. undici's destroy() emits an abort error on the stream: listen
    // for it, or it would surface as an unhandled 'error' event.
    body.on("error", noop);
    body.destroy();
    if (err instanceof FetchJsonError) throw err;
    throw new FetchJsonError(signal.aborted ? `timed out after ${options.timeoutMs} ms` : "reading body failed", { cause: err });
  }
}
