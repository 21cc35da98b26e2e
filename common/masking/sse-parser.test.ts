import { SseEventTooLargeError, SseParser, type SseBlock } from "./sse-parser.js";

const STREAM =
  ": keep-alive\r\n\r\n" +
  "event: metadata\r\ndata: {\"run_id\":\"r1\"}\r\n\r\n" +
  "event: messages\nid: 7\ndata: [{\"content\":\"héllo ✓ 😀\"},\n" +
  "data: {}]\n\n" +
  "data:no-space\rretry: 10\r\r" +
  "field-only\nevent:x\n\n";

const EXPECTED: SseBlock[] = [
  { fields: [{ name: "", value: " keep-alive" }] },
  { fields: [{ name: "event", value: "metadata" }, { name: "data", value: '{"run_id":"r1"}' }] },
  {
    fields: [
      { name: "event", value: "messages" },
      { name: "id", value: "7" },
      { name: "data", value: '[{"content":"héllo ✓ 😀"},' },
      { name: "data", value: "{}]" },
    ],
  },
  { fields: [{ name: "data", value: "no-space" }, { name: "retry", value: "10" }] },
  { fields: [{ name: "field-only", value: "" }, { name: "event", value: "x" }] },
];

function parseAll(chunks: Array<Uint8Array | string>): SseBlock[] {
  const p = new SseParser();
  const out: SseBlock[] = [];
  for (const c of chunks) out.push(...p.push(c));
  out.push(...p.end());
  return out;
}

describe("SseParser", () => {
  it("parses LF, CRLF and CR line endings, comments, ids and multi-line data", () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED);
  });

  it("gives the same events for a split at every byte boundary (UTF-8 and CRLF included)", () => {
    const bytes = Buffer.from(STREAM, "utf8");
    for (let i = 0; i <= bytes.length; i++) {
      expect(parseAll([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(EXPECTED);
    }
  });

  it("gives the same events byte by byte", () => {
    const bytes = Buffer.from(STREAM, "utf8");
    expect(parseAll([...bytes].map((b) => Uint8Array.of(b)))).toEqual(EXPECTED);
  });

  it("returns an unterminated last event at end()", () => {
    const p = new SseParser();
    expect(p.push("event: end\ndata: x")).toEqual([]);
    expect(p.end()).toEqual([{ fields: [{ name: "event", value: "end" }, { name: "data", value: "x" }] }]);
  });

  it("bounds the size of one event", () => {
    const p = new SseParser(100);
    expect(() => p.push(`data: ${"x".repeat(200)}`)).toThrow(SseEventTooLargeError);
    const q = new SseParser(100);
    expect(() => {
      for (let i = 0; i < 20; i++) q.push("data: 0123456789\n");
    }).toThrow(SseEventTooLargeError);
  });
});
