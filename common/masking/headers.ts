/**
 * Response headers the caller may see unmasked: framing and caching metadata whose values
 * are tokens, dates or numbers the client needs as sent. Every other header (x-*, link,
 * location, content-disposition, www-authenticate…) is masked like a JSON member: by its
 * name (key rules: `*token*`, `authorization`…) and by the text detectors on its value.
 */
export const UNMASKED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  "content-type",
  "content-length",
  "content-language",
  "date",
  "cache-control",
  "expires",
  "etag",
  "last-modified",
  "vary",
  "retry-after",
  "x-request-id",
  "x-accel-buffering",
]);

/**
 * Returns the headers with every value outside the allow-list masked through `maskJson`
 * (one object, names as keys, so key rules apply). Multi-valued headers stay arrays.
 */
export function maskHeaders(
  headers: Readonly<Record<string, string | string[]>>,
  maskJson: (value: unknown) => unknown,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const toMask: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (UNMASKED_RESPONSE_HEADERS.has(name.toLowerCase())) out[name] = value;
    else toMask[name] = value;
  }
  const masked = maskJson(toMask) as Record<string, unknown>;
  for (const name of Object.keys(toMask)) {
    // a header name the detectors changed is dropped: names are not ours to rewrite
    const v = masked[name];
    if (typeof v === "string") out[name] = v;
    else if (Array.isArray(v)) out[name] = v.map(String);
  }
  return out;
}
