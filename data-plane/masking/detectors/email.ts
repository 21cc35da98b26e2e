import type { Detector } from "../types.js";
import { scan } from "./scan.js";

// Local part (no leading dot), "@", dot-separated host labels, then an alphabetic or
// punycode TLD. The lookbehind anchors the match at the start of a run so a long word is
// never rescanned from every position (linear time); labels cannot contain "_".
const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9_][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9-]{1,59})(?![A-Za-z0-9_-]|\.[A-Za-z0-9])/g;

/** E-mail addresses (RFC 5321 shape, including IDN punycode domains). */
export const email: Detector = {
  name: "email",
  find: (text) => (text.includes("@") ? scan(EMAIL, text) : []),
};
