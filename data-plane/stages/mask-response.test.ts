/**
 * Response stage `mask`: every buffered answer, also a value an earlier stage replaced (a
 * filtered search, re-serialised), is masked through maskBodyBounded — inline only under the
 * pool's bound, else by a worker — never by the masker's inline maskJson/maskText, which would
 * run a large list's detector work on the event loop (#11, #12 item 6).
 */
import type { BodyMasker, RequestContext } from "../pipeline/context.js";
import { BufferedAnswer } from "../pipeline/answer.js";
import { maskAnswer } from "./mask-response.js";

function fakeMasker(masked: string): { masker: BodyMasker; bounded: Array<[string, string | undefined]> } {
  const bounded: Array<[string, string | undefined]> = [];
  const inline = () => {
    throw new Error("masked inline on the event loop");
  };
  const masker: BodyMasker = {
    maskJson: inline,
    maskText: inline,
    sse: inline,
    counts: () => ({}),
    passUninspectable: false,
    maskBodyBounded: (body, contentType) => {
      bounded.push([typeof body === "string" ? body : Buffer.from(body).toString("utf8"), contentType]);
      return Promise.resolve({ ok: true, body: masked });
    },
  };
  return { masker, bounded };
}

const answer = (body: string) => new BufferedAnswer(Buffer.from(body), 200, {}, "application/json", "buffered");

test("a value the filter replaced is masked from its serialisation through maskBodyBounded", async () => {
  const { masker, bounded } = fakeMasker('[{"id":1,"mail":"[REDACTED:email]"}]');
  const part = answer('[{"id":1,"mail":"a@b.co"},{"id":2,"mail":"c@d.co"}]');
  part.replaceJson([(part.json()!.value as unknown[])[0]]);
  expect(await maskAnswer({ masker } as unknown as RequestContext, part)).toBeUndefined();
  expect(bounded).toEqual([['[{"id":1,"mail":"a@b.co"}]', "application/json"]]);
  expect(part.outText()).toBe('[{"id":1,"mail":"[REDACTED:email]"}]');
});

test("an answer as the upstream sent it is masked from its bytes through maskBodyBounded", async () => {
  const { masker, bounded } = fakeMasker("masked");
  const part = answer('{"mail":"a@b.co"}');
  expect(await maskAnswer({ masker } as unknown as RequestContext, part)).toBeUndefined();
  expect(bounded).toEqual([['{"mail":"a@b.co"}', "application/json"]]);
  expect(part.outText()).toBe("masked");
});

test("a value the filter replaced by null (a store item the caller may not see) goes out as null", async () => {
  const { masker, bounded } = fakeMasker("unused");
  const part = answer('{"namespace":["other"],"key":"k"}');
  part.replaceJson(null);
  expect(await maskAnswer({ masker } as unknown as RequestContext, part)).toBeUndefined();
  expect(bounded).toEqual([]);
  expect(part.outText()).toBe("null");
});
