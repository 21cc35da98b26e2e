/**
 * Attack: a card number sent as a JSON number beyond 2^53 (19-digit UnionPay / Visa, or 16
 * digits starting with 9). JSON.parse rounds it, the rounded digits fail Luhn, and the body
 * was judged clean — relayed with the real digits. Whatever way the number is written
 * (plain, with a zero fraction, in exponent form, negative), no masking path may let a
 * literal through whose exact value is the card; an integer that is not a card keeps its
 * exact digits (a clean body is relayed as it came).
 */
import fc from "fast-check";
import { defaultProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskBody, maskBodyKeepClean } from "./body.js";
import { maskBodySliced } from "./body-sliced.js";
import { exactIntegers } from "./exact-numbers.js";
import { maskText } from "./text.js";
import { SseMasker } from "./sse.js";

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** What the detectors make of digits written as text. */
const maskedAsText = (digits: string) => maskText(digits, defaultProfile(), new MaskSession()) !== digits;

/** 19 digits, Luhn-valid, with a card network's prefix: more than JSON.parse holds exactly. */
const luhnValid19 = fc
  .constantFrom("62", "4", "65", "6011", "5018", "6304")
  .chain((prefix) => fc.stringMatching(new RegExp(`^[0-9]{${18 - prefix.length}}$`)).map((rest) => prefix + rest + luhnDigit(prefix + rest)));

/** A card number (as the detectors judge its digits written as text) JSON.parse cannot hold exactly. */
const roundedCard = luhnValid19.filter(maskedAsText);

/** A 19-digit integer the detectors do not take for a card. */
const roundedNonCard = fc
  .tuple(fc.constantFrom("1", "3", "7", "8", "9"), fc.stringMatching(/^[0-9]{18}$/))
  .map(([first, rest]) => first + rest)
  .filter((digits) => !maskedAsText(digits));

/** Ways to write an integer as a JSON number literal. */
const written = (digits: string) =>
  fc.constantFrom(
    digits,
    `-${digits}`,
    `${digits}.0`,
    `${digits}.000e0`,
    `${digits[0]}.${digits.slice(1)}e${digits.length - 1}`,
    `${digits.slice(0, 9)}.${digits.slice(9)}E+${digits.length - 9}`,
    `${digits}00e-2`,
  );

/** A body with the literal at one of several positions, beside ordinary members. */
const body = (card: string, literal: string) =>
  fc.constantFrom(
    `{"card":${literal}}`,
    `{"id":"run-1","values":{"n":[1,2,${literal}],"note":"ok"}}`,
    `[{"amount": 12.5}, ${literal} ]`,
    `{"s":"card ${card} in a string, masked as text","x":${literal}}`,
  );

/** The values of the long integers written in a text (a card's rounded form keeps 16 of its digits). */
const longValues = (text: string) => [...exactIntegers(text).keys()];

async function outputs(text: string): Promise<string[]> {
  const profile = defaultProfile();
  const plain = maskBody(text, "application/json", profile, new MaskSession());
  const kept = maskBodyKeepClean(text, "application/json", profile, new MaskSession());
  const sliced = await maskBodySliced(text, "application/json", profile, new MaskSession());
  return [plain, kept, sliced].map((r) => {
    if (!r.ok) throw new Error("refused");
    return "untouched" in r ? text : r.body;
  });
}

describe("card numbers JSON.parse rounds", () => {
  test("no path lets a literal whose exact value is the card through", async () => {
    await fc.assert(
      fc.asyncProperty(roundedCard.chain((card) => written(card).chain((lit) => body(card, lit).map((text) => ({ card, text })))), async ({ card, text }) => {
        for (const out of await outputs(text)) {
          expect(out).not.toContain(card);
          expect(longValues(out)).not.toContain(Number(card));
        }
      }),
      { numRuns: 300 },
    );
  });

  test("a long integer that is not a card keeps its exact digits", async () => {
    await fc.assert(
      fc.asyncProperty(roundedNonCard, async (notCard) => {
        const text = `{"id":${notCard},"list":[${notCard}]}`;
        const kept = maskBodyKeepClean(text, "application/json", defaultProfile(), new MaskSession());
        expect(kept).toEqual({ ok: true, untouched: true });
      }),
      { numRuns: 100 },
    );
  });

  test("a negative card number is judged by its digits (in range of a double too)", async () => {
    for (const text of ['{"n":-4111111111111111}', '{"n":[-5555555555554444]}', '{"n":-6212345678901234569}']) {
      for (const out of await outputs(text)) expect(out).toMatch(/"n":\[?"\[REDACTED:credit_card\]"/);
    }
  });

  test("stream events (values, updates, custom, message chunks) are judged by the digits in their data", () => {
    fc.assert(
      fc.property(roundedCard.chain((card) => written(card).map((lit) => ({ card, lit }))), ({ card, lit }) => {
        const events = [
          `event: values\ndata: {"messages":[],"pan":${lit}}\n\n`,
          `event: updates\ndata: {"node":{"n":[${lit}]}}\n\n`,
          `event: custom\ndata: {"progress":"x","n":${lit}}\n\n`,
          `event: messages\ndata: [{"type":"AIMessageChunk","id":"m1","content":"hi","n":${lit}},{"langgraph_node":"a"}]\n\n`,
        ];
        const sse = new SseMasker(defaultProfile(), new MaskSession());
        const out = events.map((e) => sse.push(e)).join("") + sse.end();
        expect(out).not.toContain(card);
        expect(longValues(out)).not.toContain(Number(card));
      }),
      { numRuns: 100 },
    );
  });

  test("a re-serialised value (a filtered list) is judged by the text it was parsed from", async () => {
    const upstream = '[{"graph_id":"a","pan":6212345678901234569},{"graph_id":"hidden","x":1}]';
    const filtered = JSON.stringify([(JSON.parse(upstream) as unknown[])[0]]); // the rounded digits only
    expect(filtered).not.toContain("6212345678901234569");
    const profile = defaultProfile();
    const results = [
      maskBody(filtered, "application/json", profile, new MaskSession(), { numberSource: upstream }),
      await maskBodySliced(filtered, "application/json", profile, new MaskSession(), { numberSource: upstream }),
    ];
    for (const r of results) expect(r).toEqual({ ok: true, body: '[{"graph_id":"a","pan":"[REDACTED:credit_card]"}]' });
    // without it, the rounded digits are no card: this is what the option is for
    expect(maskBody(filtered, "application/json", profile, new MaskSession())).toEqual({ ok: true, body: filtered });
  });

  test("exact integers are read from number literals only, with their written value", () => {
    const text = '{"a":"6212345678901234569","b":6212345678901234569,"c":6.212345678901234569e18,"d":1.5e300,"e":12345678901234567.5}';
    const found = exactIntegers(text);
    // the string is skipped, b and c are one value written twice; d is no integer below 1e21, e no integer
    expect([...found.entries()]).toEqual([[Number("6212345678901234569"), ["6212345678901234569"]]]);
  });
});
