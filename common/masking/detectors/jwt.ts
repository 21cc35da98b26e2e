import type { Detector, Span } from "../types.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

// header "." payload [ "." signature [ "." … ] ] — JWS, unsecured and JWE compact forms. The
// header and payload are base64url JSON objects, so they start with "eyJ" ('{"') or "ew"
// ('{' + whitespace).
// JWE compact has five segments whose second (the encrypted key) is random or empty.
const TOKEN =
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.(?:e[yw][A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]*){0,3}|[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){2}\.[A-Za-z0-9_-]{8,})(?![A-Za-z0-9_.-])/g;

function isJsonObject(segment: string): boolean {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** At least one of header and payload must decode to a JSON object (a corrupted header still leaks a usable payload). */
function accept(m: RegExpExecArray): Span | null {
  const parts = m[0].split(".");
  const [header, payload] = parts;
  if (!isJsonObject(header!) && (parts.length === 5 || !isJsonObject(payload!))) return null;
  return { start: m.index, end: m.index + m[0].length };
}

/** JSON Web Tokens (signed, unsigned and encrypted compact serialisations). */
export const jwt: Detector = {
  name: "jwt",
  mayMatch: (_text, shape) => (shape.literals & LITERAL.jwt) !== 0,
  find: (text) => scan(TOKEN, text, accept),
};
