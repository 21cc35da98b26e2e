import { decodeCursor, encodeCursor, pageOfList, pageRequest, toConnection } from "./pagination.js";

describe("pagination", () => {
  test("cursors are opaque and round-trip ids", () => {
    const id = "0193a0b4-0000-7000-8000-000000000001";
    expect(encodeCursor(id)).not.toContain(id);
    expect(decodeCursor(encodeCursor(id))).toBe(id);
  });

  test.each([["garbage"], [Buffer.from("c1:").toString("base64url")], ["!!!"], ["x".repeat(500)]])("cursor %s is BAD_USER_INPUT", (cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(expect.objectContaining({ code: "BAD_USER_INPUT" }));
  });

  test.each([[0], [101], [-1], [1.5]])("first: %d is BAD_USER_INPUT", (first) => {
    expect(() => pageRequest({ first })).toThrow(expect.objectContaining({ code: "BAD_USER_INPUT", problems: ["first: must be from 1 to 100"] }));
  });

  test("defaults and connections", () => {
    expect(pageRequest({})).toEqual({ first: 50, after: undefined });
    expect(toConnection({ nodes: [], hasNextPage: false })).toEqual({ edges: [], pageInfo: { endCursor: null, hasNextPage: false } });
    const items = ["a", "b", "c"].map((id) => ({ id }));
    const first = pageOfList(items, { first: 2 });
    expect(first).toEqual({ nodes: [{ id: "a" }, { id: "b" }], hasNextPage: true });
    expect(pageOfList(items, { first: 2, after: "b" })).toEqual({ nodes: [{ id: "c" }], hasNextPage: false });
    expect(toConnection(first).pageInfo.endCursor).toBe(encodeCursor("b"));
  });
});
