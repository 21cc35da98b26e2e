import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { compileProfile, defaultProfile, type CompiledProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskJson } from "./json.js";
import { maskText } from "./text.js";
import { couldMask } from "./prescan.js";
import { from, planted, secret } from "./testing/secrets.js";

/**
 * The pre-scan's one promise: when it says "nothing to mask", the masking engine, run the way the
 * response relay runs it, masks nothing. Checked as an implication over generated documents, the
 * shared masking corpus (outside the repository, when present) and the edge cases the module doc
 * names: engine masks something ⇒ couldMask is true.
 */
const profile = defaultProfile();

/** Whether the relay's masking would change anything in this body (JSON structurally, else as text). */
function engineMasks(text: string, p: CompiledProfile = profile): boolean {
  const session = new MaskSession();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return maskText(text, p, session) !== text || Object.keys(session.counts).length > 0;
  }
  return JSON.stringify(maskJson(parsed, p, session)) !== JSON.stringify(parsed) || Object.keys(session.counts).length > 0;
}

function expectSound(text: string, p: CompiledProfile = profile): void {
  if (engineMasks(text, p)) expect({ text, couldMask: couldMask(text, p) }).toEqual({ text, couldMask: true });
}

// An LangGraph-shaped answer: ids, dates, versions, prose — what the fast path is for.
const ASSISTANT = JSON.stringify([
  {
    assistant_id: "fe096781-5601-53d2-b2f6-0d3403f7e9ca",
    graph_id: "echo",
    config: {},
    context: {},
    metadata: { created_by: "system" },
    name: "echo",
    description: "static answer for the agentgate proxy bench",
    created_at: "2026-11-25T10:00:00.000Z",
    updated_at: "2026-11-25T10:00:00.000Z",
    version: 1,
  },
]);

describe("couldMask", () => {
  test("an ordinary LangGraph answer needs no masking: the fast path is taken", () => {
    expect(engineMasks(ASSISTANT)).toBe(false);
    expect(couldMask(ASSISTANT, profile)).toBe(false);
    expect(couldMask("plain words, nothing else", profile)).toBe(false);
  });

  test.each([
    ["a key rule", '{"password":"x"}'],
    ["a key rule on a nested key, any value type", '{"a":{"api_key":123}}'],
    ["a detector in a value", '{"note":"mail alice@example.com now"}'],
    ["a detector in a key", '{"alice@example.com":1}'],
    ["an escape that hides a detector", '{"note":"alice\\u0040example.com"}'],
    ["any escape at all", '{"note":"line\\nbreak"}'],
    ["a card number as a JSON number", '{"n":4111111111111111}'],
    ["a card number written with an exponent", '{"n":4.111111111111111e15}'],
    ["a card number written with a fraction", '{"n":4111111111111111.0}'],
    ["an event stream", "event: values\ndata: {}\n\n"],
  ])("%s: maybe", (_name, text) => {
    expect(couldMask(text, profile)).toBe(true);
    expectSound(text);
  });

  test("path rules and custom regexes always say maybe (their matches depend on one string or one position)", () => {
    const paths = compileProfile([{ kind: "path", match: "$.a", style: "redact" }]);
    const regex = compileProfile([{ kind: "regex", match: "^echo$", style: "redact" }]);
    expect(engineMasks('{"graph_id":"echo"}', regex)).toBe(true);
    expect(couldMask('{"graph_id":"echo"}', regex)).toBe(true); // "^echo$" never matches the whole text
    expect(couldMask('{"b":1}', paths)).toBe(true);
    expect(couldMask(ASSISTANT, compileProfile([{ kind: "key", match: "secret", style: "redact" }]))).toBe(false);
  });

  test("property: whenever the engine masks something in generated JSON, couldMask says so", () => {
    const key = fc.oneof(from("abcdefghij_", 1, 8), fc.constantFrom("password", "api_key", "token", "apiKey", "x-api-key", "card_number", "note"));
    const leaf = fc.oneof(
      from("abcdefghij klmno,.!?-:@0123456789", 0, 30),
      secret,
      planted.map((p) => p.text),
      fc.integer(),
      fc.constantFrom(4111111111111111, 5555555555554444, 1e21, 4.5, -12),
      fc.boolean(),
      fc.constant(null),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object")),
      array: fc.array(tie("tree"), { maxLength: 4 }),
      object: fc.dictionary(fc.oneof(key, secret), tie("tree"), { maxKeys: 4 }),
    }));
    fc.assert(
      fc.property(tree, fc.boolean(), (doc, pretty) => expectSound(JSON.stringify(doc, null, pretty ? 1 : undefined))),
      { numRuns: Number(process.env.FC_RUNS ?? 1000) },
    );
  });

  // The shared corpus of real secrets and near misses (../shared/corpora/masking): every text as a
  // value, as a key and as a plain body.
  const corpus = fileURLToPath(new URL("../../../shared/corpora/masking/corpus.jsonl", import.meta.url));
  (existsSync(corpus) ? test : test.skip)("the shared masking corpus, each text as a JSON value, a key and a plain body", () => {
    const cases = readFileSync(corpus, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { text: string });
    expect(cases.length).toBeGreaterThan(100);
    for (const { text } of cases) {
      expectSound(JSON.stringify({ note: text, version: 1 }));
      expectSound(JSON.stringify({ [text]: "v" }));
      expectSound(text);
      // the same texts without the characters JSON must escape: the detector path, not the backslash rule
      const bare = [...text].map((c) => (c === '"' || c === "\\" || c < " " ? " " : c)).join("");
      expectSound(JSON.stringify([{ content: bare, created_at: "2026-11-25T10:00:00.000Z" }]));
    }
  });
});
