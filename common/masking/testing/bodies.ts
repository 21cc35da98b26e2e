/**
 * fast-check arbitraries for whole bodies: JSON and text dense in near-miss fragments (digit
 * runs, keywords, token prefixes, "@", colons, non-ASCII), some characters written as \\uXXXX
 * escapes, encoded as UTF-8, with a BOM, UTF-16 or Latin-1, under every label.
 */
import fc from "fast-check";
import { secret } from "./secrets.js";

// ------------------------------------------------------------------ generated near misses

// Fragments dense in what triggers look for: digit runs and separators, keywords, prefixes,
// "@", colons, escapes-to-be, non-ASCII. Joined at random they make secrets, near misses and
// tokens cut at every place.
const FRAGMENT = fc.oneof(
  { weight: 2, arbitrary: secret },
  { weight: 2, arbitrary: secret.chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))) },
  { weight: 2, arbitrary: secret.chain((s) => fc.nat(s.length).map((n) => s.slice(n))) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      " ", " ", "-", ".", ":", "::", ",", "=", " = ", "\n", "\t", '"', "'", "\\", "/", "(", ")", "+", "@", "x", "e", "T",
      "password", "Password", "pass_word", "api_key", "apiKey", "token", "input_tokens", "secret", "is", " is ", "key", "auth",
      "AKIA", "ASIA", "sk-", "sk-proj-", "ghp_", "glpat-", "xoxb-", "AIza", "eyJ", "PRIVATE KEY", "hooks.slack.com",
      "ACME-", "tOOkEn", "x-acme-id", "x-_acme-id",
      "0", "1", "4", "12", "415", "555", "0132", "4111", "1111", "2024-05-01", "2024-05-01T12:30:45.123456+00:00", "3.14", "1e15", "4.111111111111111e15",
      "DE89", "GB82 WEST", "ffff", "fe80", "2001:db8", "192.168", "10.0.0.1", "bc1q", "0x", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
      "é", "名", "\u212a", "İ", "\u2028",
      "mail", "example.com", "call", "phone", "aws", "A3T",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(..."0123456789 -.()"), maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/"), minLength: 20, maxLength: 48 }) },
);
export const words = fc.array(FRAGMENT, { maxLength: 10 }).map((xs) => xs.join(""));
const KEYS = fc.oneof(words, fc.constantFrom("password", "my_token", "input_tokens", "x-acme-id", "Pass-Word", "ssn", "note", "content"));

const { json } = fc.letrec((tie) => ({
  json: fc.oneof({ depthSize: "small", withCrossShrink: true }, words, fc.integer(), fc.constantFrom(4111111111111111, 4.1e15, 1e21, 2.5), tie("array"), tie("object")),
  array: fc.array(tie("json"), { maxLength: 4 }),
  object: fc.dictionary(KEYS, tie("json"), { maxKeys: 4 }),
}));

/** JSON text with some characters written as \uXXXX escapes (still the same JSON). */
export const escapedJson = fc.tuple(json, fc.integer({ min: 0, max: 3 }), fc.nat()).map(([value, mode, seed]) => {
  const text = JSON.stringify(value);
  if (mode === 0) return text;
  let n = seed;
  // escape characters inside strings only: walk the text, tracking string state
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString && c === "\\") {
      out += c + text[++i]!;
      continue;
    }
    if (c === '"') inString = !inString;
    n = (n * 1103515245 + 12345) & 0x7fffffff;
    if (inString && c !== '"' && n % (mode === 3 ? 2 : 7) === 0) out += `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    else if (inString && c === "/" && mode === 2) out += "\\/";
    else out += c;
  }
  return out;
});

export const LABELS = fc.constantFrom(undefined, "application/json", "text/plain", "text/plain; charset=utf-8", "Application/JSON", "application/octet-stream", "text/event-stream", "application/x-www-form-urlencoded");

export const encoded = fc.tuple(fc.oneof(escapedJson, words), fc.constantFrom("utf8", "bom", "utf16le", "string", "latin1")).map(([text, enc]): [Uint8Array | string, string | undefined] => {
  switch (enc) {
    case "string":
      return [text, undefined];
    case "bom":
      return [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), undefined];
    case "utf16le":
      return [Buffer.from(text, "utf16le"), "application/json; charset=utf-16le"];
    case "latin1":
      return [Buffer.from(text, "latin1"), undefined];
    default:
      return [Buffer.from(text), undefined];
  }
});

