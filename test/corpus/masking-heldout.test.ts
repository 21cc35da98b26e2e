/**
 * Scores the default profile on the project's own held-out set (heldout-cases.ts, written
 * from format knowledge, independent of the shared corpus): recall and false-positive rate,
 * per kind, printed for the README and guarded against regressions.
 */
import { defaultProfile } from "../../common/masking/profile.js";
import { MaskSession } from "../../common/masking/session.js";
import { maskJson } from "../../common/masking/json.js";
import { HELD_OUT } from "./heldout-cases.js";

/** Last measured (README "Numbers"). */
const MEASURED = { recall: 100, fpr: 0 };

describe("masking held-out set", () => {
  it("keeps recall and false-positive rate at their measured level", () => {
    const profile = defaultProfile();
    const rows = new Map<string, { pos: number; hit: number; neg: number; fp: number }>();
    const misses: string[] = [];
    for (const c of HELD_OUT) {
      // each case is one JSON string value, as the shared scorer sends it
      const out = (maskJson({ input: { text: c.text } }, profile, new MaskSession()) as { input: { text: string } }).input.text;
      const r = rows.get(c.kind) ?? { pos: 0, hit: 0, neg: 0, fp: 0 };
      rows.set(c.kind, r);
      if (c.secret !== null) {
        r.pos++;
        if (!out.includes(c.secret)) r.hit++;
        else misses.push(`MISS ${c.kind}: ${c.text.slice(0, 90)}`);
      } else {
        r.neg++;
        if (out !== c.text) {
          r.fp++;
          misses.push(`FP   ${c.kind}: ${c.text.slice(0, 60)} -> ${out.slice(0, 60)}`);
        }
      }
    }
    let pos = 0, hit = 0, neg = 0, fp = 0;
    const lines = ["kind               pos  recall   neg  fpr"];
    for (const [kind, r] of rows) {
      pos += r.pos; hit += r.hit; neg += r.neg; fp += r.fp;
      lines.push(`${kind.padEnd(18)} ${String(r.pos).padStart(3)}  ${r.pos ? ((100 * r.hit) / r.pos).toFixed(0).padStart(5) : "    -"}%  ${String(r.neg).padStart(3)}  ${r.neg ? ((100 * r.fp) / r.neg).toFixed(0) : "-"}%`);
    }
    const recall = (100 * hit) / pos;
    const fpr = (100 * fp) / neg;
    lines.push(`TOTAL recall=${recall.toFixed(1)}% (${hit}/${pos}) fpr=${fpr.toFixed(1)}% (${fp}/${neg})`);
    console.log([...lines, ...misses].join("\n"));
    expect(recall).toBeGreaterThanOrEqual(MEASURED.recall - 2);
    expect(fpr).toBeLessThanOrEqual(MEASURED.fpr + 2);
  });
});
