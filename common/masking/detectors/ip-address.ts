import { isIPv6 } from "node:net";
import type { Detector, Span } from "../types.js";
import { scan } from "./scan.js";

// Dotted quad with an optional CIDR prefix; octet values are checked in code.
const IPV4 = /(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?(?![\w]|\.\d)/g;
// Hex groups and colons (with an optional embedded IPv4 tail, zone id and prefix), not
// glued to a word; the address itself is validated by node:net. Sticky: tried only where
// a run of hex digits, colons and dots starts (see findV6), never at every position.
const IPV6 =
  /(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})?(?:%[0-9A-Za-z_.-]{1,32})?(?:\/\d{1,3})?(?![\w:]|\.\d)/y;

function isRunChar(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46; // 0-9 : A-F a-f .
}

/** Tries the IPv6 pattern once per run of hex digits, colons and dots that contains a colon. */
function findV6(text: string): Span[] {
  const out: Span[] = [];
  let colon = text.indexOf(":");
  while (colon >= 0) {
    let start = colon;
    while (start > 0 && isRunChar(text.charCodeAt(start - 1))) start--;
    let end = colon;
    while (end < text.length && isRunChar(text.charCodeAt(end))) end++;
    IPV6.lastIndex = start;
    const m = IPV6.exec(text);
    const span = m === null ? null : validV6(m);
    if (span !== null) out.push(span);
    colon = text.indexOf(":", Math.max(end, span?.end ?? 0));
  }
  return out;
}

function validV4(m: RegExpExecArray): Span | null {
  for (let i = 1; i <= 4; i++) if (Number(m[i]) > 255) return null;
  if (m[5] !== undefined && Number(m[5]) > 32) return null;
  return { start: m.index, end: m.index + m[0].length };
}

function validV6(m: RegExpExecArray): Span | null {
  let s = m[0];
  let prefix = "";
  const slash = s.indexOf("/");
  if (slash >= 0) {
    prefix = s.slice(slash + 1);
    s = s.slice(0, slash);
  }
  const zone = s.indexOf("%");
  const addr = zone >= 0 ? s.slice(0, zone) : s;
  if (!addr.includes("::") && addr.split(":").length < 8 && !/\d\.\d/.test(addr)) return null; // ratios, times
  if (!isIPv6(addr) || addr === "::") return null;
  if (prefix !== "" && Number(prefix) > 128) return null;
  return { start: m.index, end: m.index + m[0].length };
}

/** IPv4 and IPv6 addresses (with CIDR prefixes and zone ids). */
export const ipAddress: Detector = {
  name: "ip_address",
  mayMatch: (_text, shape) => shape.dottedQuad || shape.hexColon,
  find: (text) => {
    const v4 = scan(IPV4, text, validV4);
    const v6 = findV6(text);
    return v6.length === 0 ? v4 : [...v4, ...v6].sort((a, b) => a.start - b.start);
  },
};
