/**
 * The stream masker's guarantee as a property (INVARIANTS.md 4): for any LangGraph stream —
 * any mix of stream modes and namespaces, parallel messages, content-block kinds, tool-call
 * fields, custom channels, unrelated events in between and byte chunk boundaries — the text
 * a client reassembles for each logical text never contains a secret that the engine masks
 * in that text whole. Secrets come from generators of every built-in class and from the
 * shared corpus (read in place, never copied) when it is there.
 *
 * Attacker: a hostile upstream (or a prompt) that spells a secret out across events and
 * interleaves other events to make the proxy release what it holds.
 */
import { existsSync } from "node:fs";
import fc from "fast-check";
import { defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { SseMasker } from "./sse.js";
import { CORPUS, corpusCases, parse, reassemble, stream } from "./testing/streams.js";

const profile = defaultProfile();

describe("SSE masking property: no logical text a client reassembles contains a secret", () => {
  it("holds for random LangGraph streams (modes, namespaces, blocks, tool fields, custom, interleavings, byte cuts)", () => {
    fc.assert(
      fc.property(stream, ({ ls, bytes, byteCuts }) => {
        const points = [...new Set(byteCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const masker = new SseMasker(profile, new MaskSession());
        let out = "";
        for (let i = 0; i <= points.length; i++) out += masker.push(bytes.subarray(points[i - 1] ?? 0, points[i] ?? bytes.length));
        out += masker.end();
        const events = parse(out);
        for (const t of ls) {
          expect(out).not.toContain(t.secret);
          for (const text of reassemble(t, events)) expect(text).not.toContain(t.secret);
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 400) },
    );
  });

  it("the corpus is read in place when present (secrets the engine masks whole)", () => {
    if (!existsSync(CORPUS)) return;
    expect(corpusCases.length).toBeGreaterThan(100);
  });
});
