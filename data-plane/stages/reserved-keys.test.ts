import fc from "fast-check";
import type { RequestContext } from "../pipeline/context.js";
import { findReservedKey, guardReservedKeys } from "./reserved-keys.js";

const ctxWith = (json: Record<string, unknown>) => ({ json }) as unknown as RequestContext;

test("a reserved key is found at any depth and in any case; none in plain data", () => {
  let deep: unknown = { AGENTGATE_Owner: "x" };
  for (let i = 0; i < 100_000; i++) deep = i % 2 ? { a: deep } : [deep];
  expect(findReservedKey(deep)).toBe("AGENTGATE_Owner"); // iterative: no stack overflow
  expect(findReservedKey({ metadata: { owner: "agentgate_owner" }, input: ["agentgate_x"] })).toBeUndefined(); // values are data
});

test("property: any body with a reserved key somewhere is refused; without one it passes", () => {
  const key = fc.string().filter((k) => !/^agentgate_/i.test(k));
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: "small" }, fc.string(), fc.integer(), fc.array(tie("value"), { maxLength: 3 }), fc.dictionary(key, tie("value"), { maxKeys: 3 })),
  })).value;
  fc.assert(
    fc.property(fc.dictionary(key, json, { maxKeys: 4 }), fc.constantFrom("agentgate_owner", "AgentGate_x", "agentgate_"), (body, reserved) => {
      expect(guardReservedKeys(ctxWith(structuredClone(body))).kind).toBe("continue");
      const planted = { ...body, metadata: { nested: [{ [reserved]: 1 }] } };
      expect(guardReservedKeys(ctxWith(planted)).kind).toBe("deny");
    }),
  );
});

test("x-agentgate-* keys leave config.configurable and context, other keys stay", () => {
  const json = { config: { configurable: { "X-AgentGate-Sub": "root", "x-agentgate-groups": "admins", "x-other": "1", user: "u" } }, context: { "x-agentgate-email": "e", k: 1 } };
  expect(guardReservedKeys(ctxWith(json)).kind).toBe("continue");
  expect(json).toEqual({ config: { configurable: { "x-other": "1", user: "u" } }, context: { k: 1 } });
});
