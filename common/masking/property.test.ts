import fc from "fast-check";
import { defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskJson } from "./json.js";
import { maskText } from "./text.js";
import { HoldBack } from "./hold-back.js";
import { SseMasker } from "./sse.js";
import { SseParser } from "./sse-parser.js";
import * as arbitraries from "./testing/secrets.js";

const profile = defaultProfile();
const { from, filler, planted } = arbitraries;

// ------------------------------------------------------------------ random JSON

const key = from("abcdefghij", 1, 6);
const leaf = fc.oneof(filler, fc.integer(), fc.boolean(), fc.constant(null));
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object")),
  array: fc.array(tie("tree"), { maxLength: 4 }),
  object: fc.dictionary(key, tie("tree"), { maxKeys: 4 }),
}));

/** Inserts `value` into the `pick`-th container of `root` (or wraps a scalar root). */
function plant(root: unknown, value: string, pick: number): unknown {
  const copy = structuredClone(root);
  const containers: Array<unknown[] | Record<string, unknown>> = [];
  const collect = (v: unknown) => {
    if (Array.isArray(v)) {
      containers.push(v);
      v.forEach(collect);
    } else if (typeof v === "object" && v !== null) {
      containers.push(v as Record<string, unknown>);
      Object.values(v).forEach(collect);
    }
  };
  collect(copy);
  if (containers.length === 0) return { planted: value, other: copy };
  const target = containers[pick % containers.length]!;
  if (Array.isArray(target)) target.splice(pick % (target.length + 1), 0, value);
  else target[`zz${pick}`] = value;
  return copy;
}

const plantedJson = fc.tuple(tree, planted, fc.nat()).map(([t, p, pick]) => ({ json: plant(t, p.text, pick), secret: p.secret }));

// ------------------------------------------------------------------ properties

describe("masking properties (default profile)", () => {
  it("a secret planted at any depth of random JSON never survives", () => {
    fc.assert(
      fc.property(plantedJson, ({ json, secret: s }) => {
        expect(JSON.stringify(maskJson(json, profile, new MaskSession()))).not.toContain(s);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 500) },
    );
  });

  it("masking is idempotent: mask(mask(x)) equals mask(x)", () => {
    fc.assert(
      fc.property(plantedJson, ({ json }) => {
        const once = maskJson(json, profile, new MaskSession());
        expect(maskJson(once, profile, new MaskSession())).toEqual(once);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });

  it("JSON without secrets comes back unchanged", () => {
    fc.assert(
      fc.property(tree, (json) => {
        expect(maskJson(json, profile, new MaskSession())).toEqual(json);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });

  it("a secret split at random points of a stream is masked exactly as in one piece", () => {
    fc.assert(
      fc.property(planted, fc.array(fc.nat(), { maxLength: 6 }), ({ text, secret: s }, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...points].map((p, i, all) => text.slice(p, all[i + 1] ?? text.length));
        const hb = new HoldBack(profile, new MaskSession());
        const out = pieces.map((p) => hb.push(p)).join("") + hb.flush();
        expect(out).not.toContain(s);
        expect(out).toBe(maskText(text, profile, new MaskSession()));
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 500) },
    );
  });

  it("an SSE message streamed in random chunks, cut at random bytes, never leaks the secret", () => {
    fc.assert(
      fc.property(planted, fc.array(fc.nat(), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 5 }), ({ text, secret: s }, cuts, byteCuts) => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...points].map((p, i, all) => text.slice(p, all[i + 1] ?? text.length));
        const stream = Buffer.from(
          pieces.map((p) => `event: messages\ndata: ${JSON.stringify([{ content: p, id: "m", type: "AIMessageChunk", tool_call_chunks: [] }, {}])}\n\n`).join(""),
        );
        const bytePoints = [...new Set(byteCuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const masker = new SseMasker(profile, new MaskSession());
        const out = [0, ...bytePoints].map((p, i, all) => masker.push(stream.subarray(p, all[i + 1] ?? stream.length))).join("") + masker.end();
        expect(out).not.toContain(s);
        const parser = new SseParser();
        const content = [...parser.push(out), ...parser.end()]
          .map((b) => JSON.parse(b.fields.find((f) => f.name === "data")!.value) as Array<{ content: string }>)
          .map((d) => d[0]!.content)
          .join("");
        expect(content).toBe(maskText(text, profile, new MaskSession()));
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });
});
