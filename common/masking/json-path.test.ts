import { buildPathTrie, parsePath, stepPath, type PathNode } from "./json-path.js";

describe("parsePath", () => {
  it.each([
    ["$.a.b", [{ kind: "name", name: "a" }, { kind: "name", name: "b" }]],
    ["input.messages[*].content", [{ kind: "name", name: "input" }, { kind: "name", name: "messages" }, { kind: "any" }, { kind: "name", name: "content" }]],
    ["items[0]", [{ kind: "name", name: "items" }, { kind: "index", index: 0 }]],
    ["$['odd key'].*", [{ kind: "name", name: "odd key" }, { kind: "any" }]],
  ])("parses %s", (path, segments) => expect(parsePath(path)).toEqual(segments));

  it.each([
    ["$", "whole document"],
    ["a..b", "recursive descent"],
    ["a[x]", "invalid subscript"],
    ["a[0", "unclosed"],
    ["a.", "expected a member name"],
    ["a b", "unexpected"],
  ])("rejects %j (%s)", (path, reason) => expect(() => parsePath(path)).toThrow(reason));
});

describe("path trie", () => {
  const walk = (root: PathNode, keys: Array<string | number>) => keys.reduce<PathNode[]>((s, k) => stepPath(s, k), [root]);
  const trie = buildPathTrie([
    { segments: parsePath("input.messages[*].content"), rule: 3 },
    { segments: parsePath("$.input.*.content"), rule: 1 },
    { segments: parsePath("a.b"), rule: 0 },
  ])!;

  it("matches wildcards over arrays and objects; the lowest rule wins", () => {
    const rules = (keys: Array<string | number>) => walk(trie, keys).map((n) => n.rule).filter((r) => r !== undefined);
    expect(rules(["input", "messages", 4, "content"])).toEqual([3]);
    expect(rules(["input", "x", "content"])).toEqual([1]);
    expect(rules(["a", "b"])).toEqual([0]);
    expect(rules(["a", "c"])).toEqual([]);
    expect(walk(trie, ["zzz"])).toEqual([]);
  });
});
