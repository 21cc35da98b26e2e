/**
 * JSON paths for masking rules: `$.a.b`, `input.messages[*].content`, `items[0]`,
 * `$['odd key']`, `data.*.secret`. `*` (either form) matches every member of an object and
 * every element of an array. Paths compile into one trie per profile, walked alongside the
 * value so each member costs a Map lookup per active state.
 */

/** One step of a parsed path. */
export type PathSegment = { kind: "name"; name: string } | { kind: "index"; index: number } | { kind: "any" };

const NAME = /^[A-Za-z0-9_$@-]+/;

/** Parses a path; throws an Error with a precise message when it is malformed. */
export function parsePath(path: string): PathSegment[] {
  let i = 0;
  if (path.startsWith("$")) i = 1;
  const out: PathSegment[] = [];
  while (i < path.length) {
    const c = path[i]!;
    if (c === ".") {
      if (path[i + 1] === ".") throw new Error("recursive descent (..) is not supported; use a key rule");
      i++;
      if (path[i] === "*") {
        out.push({ kind: "any" });
        i++;
        continue;
      }
      const m = NAME.exec(path.slice(i));
      if (m === null) throw new Error(`expected a member name at offset ${i}`);
      out.push({ kind: "name", name: m[0] });
      i += m[0].length;
    } else if (c === "[") {
      const close = path.indexOf("]", i);
      if (close < 0) throw new Error(`unclosed "[" at offset ${i}`);
      const inner = path.slice(i + 1, close).trim();
      if (inner === "*") out.push({ kind: "any" });
      else if (/^\d+$/.test(inner)) out.push({ kind: "index", index: Number(inner) });
      else if (/^'[^']*'$|^"[^"]*"$/.test(inner)) out.push({ kind: "name", name: inner.slice(1, -1) });
      else throw new Error(`invalid subscript [${inner}]`);
      i = close + 1;
    } else if (i === 0 || (i === 1 && path[0] === "$")) {
      // the first member may omit the dot: "input.messages"
      const m = NAME.exec(path.slice(i));
      if (m === null) throw new Error(`expected a member name at offset ${i}`);
      out.push({ kind: "name", name: m[0] });
      i += m[0].length;
    } else {
      throw new Error(`unexpected "${c}" at offset ${i}`);
    }
  }
  if (out.length === 0) throw new Error("path selects the whole document; use at least one member");
  return out;
}

/** A state of the compiled path trie. `rule` is set when a path ends here. */
export interface PathNode {
  readonly names: Map<string, PathNode>;
  readonly indexes: Map<number, PathNode>;
  any: PathNode | undefined;
  rule: number | undefined;
}

function newNode(): PathNode {
  return { names: new Map(), indexes: new Map(), any: undefined, rule: undefined };
}

/** Builds the trie; `rule` is the index of the rule that owns each path (lower wins). */
export function buildPathTrie(paths: ReadonlyArray<{ segments: PathSegment[]; rule: number }>): PathNode | undefined {
  if (paths.length === 0) return undefined;
  const root = newNode();
  for (const { segments, rule } of paths) {
    let node = root;
    for (const seg of segments) {
      if (seg.kind === "any") node = node.any ??= newNode();
      else if (seg.kind === "name") node = getOrAdd(node.names, seg.name);
      else node = getOrAdd(node.indexes, seg.index);
    }
    if (node.rule === undefined || rule < node.rule) node.rule = rule;
  }
  return root;
}

function getOrAdd<K>(map: Map<K, PathNode>, key: K): PathNode {
  let n = map.get(key);
  if (n === undefined) map.set(key, (n = newNode()));
  return n;
}

/**
 * Advances a set of trie states by one member (`key` for objects, `index` for arrays).
 * Returns the next states (possibly empty) — allocation-free when no path is active.
 */
export function stepPath(states: readonly PathNode[], key: string | number): PathNode[] {
  const next: PathNode[] = [];
  for (const s of states) {
    const named = typeof key === "number" ? s.indexes.get(key) : s.names.get(key);
    if (named !== undefined) next.push(named);
    if (s.any !== undefined) next.push(s.any);
  }
  return next;
}
