import { isAscii } from "node:buffer";

/**
 * Reads a body as text whatever its label says: the byte-order mark first, then the
 * `charset` parameter (case-insensitive), else UTF-8; decoding is strict, so bytes that
 * are not text in that charset are reported instead of being masked as mojibake.
 */
export type DecodedBody =
  | { ok: true; text: string; /** the bytes were not plain UTF-8 without BOM: re-encode as UTF-8 */ transcoded: boolean }
  | { ok: false; reason: string };

/** Lower-cased media type without parameters ("" when absent). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The `charset` parameter, lower-cased and unquoted (undefined when absent). */
export function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? "");
  return m ? m[1]!.toLowerCase() : undefined;
}

const UTF8 = new Set(["utf-8", "utf8", "unicode-1-1-utf-8", "us-ascii", "ascii"]);

function bomCharset(b: Uint8Array): string | undefined {
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return "utf-8";
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return "utf-16le";
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return "utf-16be";
  return undefined;
}

/** Decodes a body strictly (see module doc). A NUL character means binary: not inspectable as text. */
export function decodeBody(bytes: Uint8Array | string, contentType: string | undefined): DecodedBody {
  if (typeof bytes === "string") return { ok: true, text: bytes.charCodeAt(0) === 0xfeff ? bytes.slice(1) : bytes, transcoded: false };
  const bom = bomCharset(bytes);
  const label = bom ?? charsetOf(contentType) ?? "utf-8";
  // plain ASCII (most JSON) reads the same in every charset this accepts as UTF-8: the native
  // one-byte copy, no decoder
  if (bom === undefined && UTF8.has(label) && isAscii(bytes)) {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    return text.includes("\u0000") ? { ok: false, reason: "body is binary" } : { ok: true, text, transcoded: false };
  }
  let decoder;
  try {
    decoder = new TextDecoder(label, { fatal: true }); // strips a BOM of its own encoding
  } catch {
    return { ok: false, reason: `unsupported charset ${label.slice(0, 40)}` };
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, reason: `body is not valid ${label.slice(0, 40)} text` };
  }
  if (text.includes("\u0000")) return { ok: false, reason: "body is binary" };
  return { ok: true, text, transcoded: bom !== undefined || !UTF8.has(label) };
}

/** Parses text as JSON when it is JSON, whatever the label (undefined otherwise). */
export function parseJsonBody(text: string): { value: unknown } | undefined {
  let i = 0;
  while (i < text.length && (text.charCodeAt(i) <= 32)) i++;
  if (i === text.length) return undefined;
  const c = text[i]!;
  // only structured values and strings: a bare number or word is text
  if (c !== "{" && c !== "[" && c !== '"') return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** True when text reads as an event stream (a field line first), whatever the label. */
export function looksLikeEventStream(text: string): boolean {
  return /^(?:event|data|id|retry):[^\n]*\r?\n|^:[^\n]*\r?\n(?:event|data):/.test(text);
}
