import type { Detector, Span } from "../types.js";
import { scan } from "./scan.js";

// Local part (no leading dot), "@", dot-separated host labels, then an alphabetic or
// punycode TLD. The lookbehind anchors the match at the start of a run so a long word is
// never rescanned from every position (linear time); labels cannot contain "_".
// Letters and digits of any script (internationalised addresses, RFC 6531), so "info@münchen.de"
// and "用户@例子.广告" are found. A "TLD" that is an image file extension ("logo@2x.png") is a file name.
const EMAIL =
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}_][\p{L}\p{N}\p{M}._%+-]{0,63}@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?\.)+(?:\p{L}[\p{L}\p{M}]{1,23}|xn--[A-Za-z0-9-]{1,59})(?![\p{L}\p{N}_-]|\.[\p{L}\p{N}])/gu;

const IMAGE_EXTENSION = /\.(?:png|jpe?g|gif|svg|webp|ico|bmp|tiff?)$/i;

function accept(m: RegExpExecArray): Span | null {
  return IMAGE_EXTENSION.test(m[0]) ? null : { start: m.index, end: m.index + m[0].length };
}

/** E-mail addresses (RFC 5321/6531 shape: IDN domains in Unicode or punycode). */
export const email: Detector = {
  name: "email",
  mayMatch: (_text, shape) => shape.at,
  find: (text) => scan(EMAIL, text, accept),
};
