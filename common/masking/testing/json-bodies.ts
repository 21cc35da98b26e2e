/**
 * fast-check arbitraries for JSON body texts: objects with key-named members of every type,
 * keys that collide once masked, `__proto__`, integer-like and repeated keys, values dense in
 * secrets, near misses, mask tokens, long integers and non-ASCII; written compact (as
 * JSON.stringify writes) or indented, some characters (digits, "@", ":"…) as \uXXXX escapes.
 */
import fc from "fast-check";
import { escapedJson, words } from "./bodies.js";
import { secret } from "./secrets.js";

// keys that rules fire on, that collide once masked, that objects treat specially, and words dense in near misses
const KEYS = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("password", "Pass-Word", "cvv", "ssn", "card_number", "api_key", "my_token", "input_tokens", "note", "content", "a", "b") },
  { weight: 2, arbitrary: fc.constantFrom("x@y.io", "z@w.io", "[REDACTED:email]", "[REDACTED:email]#2", "__proto__", "0", "1", "10", "4111111111111111", "ACME-1234") },
  { weight: 2, arbitrary: secret },
  { weight: 2, arbitrary: words },
);
/** A generated object: its members in order, duplicate keys allowed (JSON.parse keeps the last value, at the first place). */
export class Members {
  constructor(readonly members: Array<[string, unknown]>) {}
}
export const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    words,
    secret,
    fc.constantFrom("[REDACTED:password]", "[email:0123abcd]", "****1111", "ACME-1234", "caf\u00e9 \u540d \u212a", "4111111111111111", "smile \ud83d\ude00 a@b.io", "lone \ud83d end", "ctl \u0001\u001f", 'q"uo\\te\n\t/'),
    fc.integer(),
    fc.constantFrom(4111111111111111, 4.1e15, 1e21, 4.111111111111111e21, 1.5e-7, 2.5, -0, -4111111111111111, 1234567812345678, 999999999999, 1e12, true, false, null),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.array(fc.tuple(KEYS, tie("value")), { maxLength: 5 }).map((members) => new Members(members)),
}));

/** JSON text of a generated value, compact or indented. */
export function write(v: unknown, indent: string | undefined, depth = 0): string {
  const pad = indent === undefined ? "" : `\n${indent.repeat(depth + 1)}`;
  const end = indent === undefined ? "" : `\n${indent.repeat(depth)}`;
  if (v instanceof Members) {
    const ms = v.members.map(([k, x]) => `${pad}${JSON.stringify(k)}:${indent === undefined ? "" : " "}${write(x, indent, depth + 1)}`);
    return `{${ms.join(",")}${ms.length > 0 ? end : ""}}`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => pad + write(x, indent, depth + 1)).join(",")}${v.length > 0 ? end : ""}]`;
  return JSON.stringify(v);
}

/** \uXXXX for some characters inside strings (digits and "@" too): the same JSON. */
function escapeSome(text: string, seed: number): string {
  let out = "";
  let inString = false;
  let n = seed;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString && c === "\\") {
      const len = text[i + 1] === "u" ? 6 : 2; // an escape is copied whole
      out += text.slice(i, i + len);
      i += len - 1;
      continue;
    }
    if (c === '"') inString = !inString;
    n = (n * 1103515245 + 12345) & 0x7fffffff;
    const surrogate = c >= "\ud800" && c <= "\udfff"; // a pair stays raw or is escaped whole by JSON.stringify
    if (inString && c !== '"' && !surrogate && (/[0-9@:=_\-.]/.test(c) ? n % 3 === 0 : n % 11 === 0)) out += `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    else out += c;
  }
  return out;
}

/** Any JSON body text (an object, array or string at the top). */
export const bodies = fc.oneof(
  escapedJson,
  fc.tuple(value, fc.constantFrom(undefined, "  ", "\t"), fc.boolean(), fc.nat()).map(([v, indent, escape, seed]) => {
    const text = write(v, indent);
    return escape ? escapeSome(text, seed) : text;
  }),
).map((text) => (/^\s*[[{"]/.test(text) ? text : `[${text}]`)); // a bare number or word is text, not JSON (decode.ts)
