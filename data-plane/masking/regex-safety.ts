/**
 * A small static analyzer that rejects custom regexes prone to catastrophic backtracking
 * before they reach the hot path (no RE2 in Node; V8's irregexp backtracks). It parses the
 * pattern into an AST and looks for the known shapes of exponential and polynomial blow-up:
 * nested repetition, repeated alternation with overlapping branches, adjacent unbounded
 * quantifiers over overlapping characters, unbounded lookarounds, backreferences, and an
 * unanchored leading quantifier (rescanned from every start position). It is deliberately
 * conservative: a rejected pattern can almost always be rewritten (anchor it with `\b` or a
 * literal, separate repetitions by a delimiter they cannot match).
 */

/** Longest custom pattern accepted (characters). */
export const MAX_PATTERN_LENGTH = 512;
/** Bounded repetitions above this count are treated as unbounded. */
const LARGE_BOUND = 1000;
const MAX_CP = 0x10ffff;

type Range = readonly [number, number];
/** A set of code points as sorted, disjoint ranges. */
type CharSet = readonly Range[];

type Node =
  | { t: "chars"; set: CharSet }
  | { t: "seq"; items: Node[] }
  | { t: "alt"; alts: Node[] }
  | { t: "group"; body: Node }
  | { t: "look"; body: Node; behind: boolean; negate: boolean }
  | { t: "quant"; body: Node; min: number; max: number }
  | { t: "anchor"; kind: "^" | "$" | "b" | "B" }
  | { t: "backref" };

// ---------------------------------------------------------------- char sets

const ANY: CharSet = [[0, MAX_CP]];

function normalize(ranges: Range[]): CharSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(set: CharSet): CharSet {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

function union(...sets: CharSet[]): CharSet {
  return normalize(sets.flatMap((s) => [...s]));
}

function intersects(a: CharSet, b: CharSet): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [alo, ahi] = a[i]!;
    const [blo, bhi] = b[j]!;
    if (alo <= bhi && blo <= ahi) return true;
    if (ahi < bhi) i++;
    else j++;
  }
  return false;
}

function isSubset(a: CharSet, b: CharSet): boolean {
  return a.every(([lo, hi]) => b.some(([blo, bhi]) => blo <= lo && hi <= bhi));
}

/** Adds the other ASCII case of every letter (the `i` flag). */
function caseFold(set: CharSet): CharSet {
  const extra: Range[] = [];
  for (const [lo, hi] of set) {
    for (const [from, to, delta] of [[65, 90, 32], [97, 122, -32]] as const) {
      const a = Math.max(lo, from);
      const b = Math.min(hi, to);
      if (a <= b) extra.push([a + delta, b + delta]);
    }
  }
  return extra.length === 0 ? set : union(set, extra);
}

const cp = (c: string): Range => [c.codePointAt(0)!, c.codePointAt(0)!];
const DIGIT: CharSet = [[48, 57]];
const WORD: CharSet = normalize([[48, 57], [65, 90], [95, 95], [97, 122]]);
const SPACE: CharSet = normalize(
  [9, 10, 11, 12, 13, 32, 160, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff].map((c) => [c, c] as Range).concat([[0x2000, 0x200a]]),
);

// ---------------------------------------------------------------- parser

class Parser {
  private i = 0;
  constructor(private readonly src: string, private readonly ignoreCase: boolean) {}

  parse(): Node {
    const node = this.alt();
    if (this.i < this.src.length) throw new Error(`unexpected "${this.src[this.i]}"`);
    return node;
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private alt(): Node {
    const alts = [this.seq()];
    while (this.peek() === "|") {
      this.i++;
      alts.push(this.seq());
    }
    return alts.length === 1 ? alts[0]! : { t: "alt", alts };
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.peek() !== "|" && this.peek() !== ")") items.push(this.quantified());
    return items.length === 1 ? items[0]! : { t: "seq", items };
  }

  private quantified(): Node {
    const body = this.atom();
    const q = /^(?:\*|\+|\?|\{(\d+)(,(\d*))?\})\??/.exec(this.src.slice(this.i));
    if (q === null || body.t === "anchor" || body.t === "look") return body;
    this.i += q[0].length;
    let min: number;
    let max: number;
    if (q[0][0] === "*") [min, max] = [0, Infinity];
    else if (q[0][0] === "+") [min, max] = [1, Infinity];
    else if (q[0][0] === "?") [min, max] = [0, 1];
    else {
      min = Number(q[1]);
      max = q[2] === undefined ? min : q[3] === "" ? Infinity : Number(q[3]);
    }
    if (max > LARGE_BOUND) max = Infinity;
    return { t: "quant", body, min, max };
  }

  private chars(set: CharSet): Node {
    return { t: "chars", set: this.ignoreCase ? caseFold(set) : set };
  }

  private atom(): Node {
    const c = this.src[this.i++]!;
    switch (c) {
      case "(":
        return this.group();
      case "[":
        return this.chars(this.charClass());
      case ".":
        return { t: "chars", set: ANY };
      case "^":
      case "$":
        return { t: "anchor", kind: c };
      case "\\":
        return this.escape();
      default: {
        const code = this.src.codePointAt(this.i - 1)!;
        if (code > 0xffff) this.i++;
        return this.chars([[code, code]]);
      }
    }
  }

  private group(): Node {
    let look: { behind: boolean; negate: boolean } | null = null;
    if (this.src.startsWith("?:", this.i)) this.i += 2;
    else if (this.src.startsWith("?=", this.i) || this.src.startsWith("?!", this.i)) {
      look = { behind: false, negate: this.src[this.i + 1] === "!" };
      this.i += 2;
    } else if (this.src.startsWith("?<=", this.i) || this.src.startsWith("?<!", this.i)) {
      look = { behind: true, negate: this.src[this.i + 2] === "!" };
      this.i += 3;
    } else if (this.src.startsWith("?<", this.i)) {
      const close = this.src.indexOf(">", this.i);
      this.i = close + 1; // named capture
    }
    const body = this.alt();
    if (this.src[this.i++] !== ")") throw new Error("unbalanced parenthesis");
    return look === null ? { t: "group", body } : { t: "look", body, ...look };
  }

  /** Escapes outside a class; returns sets, anchors, backreferences or literal chars. */
  private escape(): Node {
    const c = this.src[this.i++]!;
    switch (c) {
      case "b":
      case "B":
        return { t: "anchor", kind: c };
      case "k": {
        this.i = this.src.indexOf(">", this.i) + 1;
        return { t: "backref" };
      }
      default:
        if (c >= "1" && c <= "9") {
          while (/\d/.test(this.peek() ?? "")) this.i++;
          return { t: "backref" };
        }
        return this.chars(this.escapeSet(c));
    }
  }

  /** The set of an escape shared by classes and atoms (`\d`, `\u{…}`, `\n`, `\.` …). */
  private escapeSet(c: string): CharSet {
    switch (c) {
      case "d":
        return DIGIT;
      case "D":
        return complement(DIGIT);
      case "w":
        return WORD;
      case "W":
        return complement(WORD);
      case "s":
        return SPACE;
      case "S":
        return complement(SPACE);
      case "p":
      case "P":
        this.i = this.src.indexOf("}", this.i) + 1;
        return ANY; // unicode property: approximated as anything
      case "u": {
        const m = /^(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{4}))/.exec(this.src.slice(this.i));
        if (m === null) return [cp("u")];
        this.i += m[0].length;
        const v = parseInt(m[1] ?? m[2]!, 16);
        return [[v, v]];
      }
      case "x": {
        const v = parseInt(this.src.slice(this.i, this.i + 2), 16);
        this.i += 2;
        return [[v, v]];
      }
      case "c": {
        const v = this.src.charCodeAt(this.i++) % 32;
        return [[v, v]];
      }
      case "n":
        return [[10, 10]];
      case "r":
        return [[13, 13]];
      case "t":
        return [[9, 9]];
      case "f":
        return [[12, 12]];
      case "v":
        return [[11, 11]];
      case "0":
        return [[0, 0]];
      default:
        return [cp(c)];
    }
  }

  private charClass(): CharSet {
    const negate = this.peek() === "^";
    if (negate) this.i++;
    const parts: CharSet[] = [];
    while (this.i < this.src.length && this.peek() !== "]") {
      const lo = this.classAtom();
      if (this.peek() === "-" && this.src[this.i + 1] !== "]" && lo.length === 1 && lo[0]![0] === lo[0]![1]) {
        this.i++;
        const hi = this.classAtom();
        parts.push([[lo[0]![0], hi[0]![1]]]);
      } else parts.push(lo);
    }
    if (this.src[this.i++] !== "]") throw new Error("unterminated character class");
    const set = union(...parts);
    return negate ? complement(set) : set;
  }

  private classAtom(): CharSet {
    const c = this.src[this.i++]!;
    if (c !== "\\") {
      const code = this.src.codePointAt(this.i - 1)!;
      if (code > 0xffff) this.i++;
      return [[code, code]];
    }
    const e = this.src[this.i++]!;
    return e === "b" ? [[8, 8]] : this.escapeSet(e);
  }
}

// ---------------------------------------------------------------- measures

function minLen(n: Node): number {
  switch (n.t) {
    case "chars":
      return 1;
    case "seq":
      return n.items.reduce((s, x) => s + minLen(x), 0);
    case "alt":
      return Math.min(...n.alts.map(minLen));
    case "group":
      return minLen(n.body);
    case "quant":
      return n.min * minLen(n.body);
    default:
      return 0;
  }
}

function maxLen(n: Node): number {
  switch (n.t) {
    case "chars":
      return 1;
    case "seq":
      return n.items.reduce((s, x) => s + maxLen(x), 0);
    case "alt":
      return Math.max(...n.alts.map(maxLen));
    case "group":
      return maxLen(n.body);
    case "quant":
      return n.max === 0 ? 0 : n.max * maxLen(n.body);
    case "backref":
      return Infinity;
    default:
      return 0;
  }
}

/** Every character the node can consume. */
function consumed(n: Node): CharSet {
  switch (n.t) {
    case "chars":
      return n.set;
    case "seq":
      return union(...n.items.map(consumed));
    case "alt":
      return union(...n.alts.map(consumed));
    case "group":
    case "quant":
      return consumed(n.body);
    case "backref":
      return ANY;
    default:
      return [];
  }
}

/** Characters that can start a match of the node (ANY when the node can match empty). */
function first(n: Node): CharSet {
  switch (n.t) {
    case "chars":
      return n.set;
    case "seq": {
      const parts: CharSet[] = [];
      for (const item of n.items) {
        parts.push(first(item));
        if (minLen(item) > 0) return union(...parts);
      }
      return ANY;
    }
    case "alt":
      return union(...n.alts.map(first));
    case "group":
      return first(n.body);
    case "quant":
      return n.min === 0 ? ANY : first(n.body);
    case "backref":
      return ANY;
    default:
      return [];
  }
}

const unwrap = (n: Node): Node => (n.t === "group" ? unwrap(n.body) : n);

/** Repeating quantifiers inside `n`, not crossing lookarounds. */
function innerRepeats(n: Node, out: Array<Extract<Node, { t: "quant" }>> = []): Array<Extract<Node, { t: "quant" }>> {
  switch (n.t) {
    case "seq":
      n.items.forEach((x) => innerRepeats(x, out));
      break;
    case "alt":
      n.alts.forEach((x) => innerRepeats(x, out));
      break;
    case "group":
      innerRepeats(n.body, out);
      break;
    case "quant":
      if (n.max > 1) out.push(n);
      innerRepeats(n.body, out);
      break;
    default:
  }
  return out;
}

function alternations(n: Node, out: Array<Extract<Node, { t: "alt" }>> = []): Array<Extract<Node, { t: "alt" }>> {
  switch (n.t) {
    case "alt":
      out.push(n);
      n.alts.forEach((x) => alternations(x, out));
      break;
    case "seq":
      n.items.forEach((x) => alternations(x, out));
      break;
    case "group":
    case "quant":
      alternations(n.body, out);
      break;
    default:
  }
  return out;
}

/**
 * A repetition's iterations are unambiguous when its body contains a mandatory character
 * that none of the inner repetitions can consume: `([a-z]+\.)+`, `(\w+\s)*`.
 */
function hasDisjointDelimiter(body: Node, inner: Array<Extract<Node, { t: "quant" }>>): boolean {
  const items = body.t === "seq" ? body.items : [body];
  const innerSet = union(...inner.map(consumed));
  return items.some((it) => {
    const u = unwrap(it);
    const mandatoryChar = u.t === "chars" || (u.t === "quant" && u.min >= 1 && u.max <= LARGE_BOUND && unwrap(u.body).t === "chars");
    return mandatoryChar && !intersects(consumed(u), innerSet);
  });
}

// ---------------------------------------------------------------- checks

function check(n: Node, problems: Set<string>): void {
  switch (n.t) {
    case "backref":
      problems.add("backreferences are not allowed");
      return;
    case "look":
      if (maxLen(n.body) === Infinity) problems.add("lookarounds must have a bounded length");
      check(n.body, problems);
      return;
    case "group":
      check(n.body, problems);
      return;
    case "alt":
      n.alts.forEach((a) => check(a, problems));
      return;
    case "seq":
      checkAdjacent(n.items, problems);
      n.items.forEach((a) => check(a, problems));
      return;
    case "quant":
      if (n.max > 1) checkRepetition(n, problems);
      check(n.body, problems);
      return;
    default:
  }
}

function checkRepetition(q: Extract<Node, { t: "quant" }>, problems: Set<string>): void {
  const inner = innerRepeats(q.body);
  if (inner.length > 0 && (q.max === Infinity || inner.some((x) => x.max === Infinity)) && !hasDisjointDelimiter(unwrap(q.body), inner)) {
    problems.add("nested quantifiers (e.g. (a+)+) can backtrack exponentially");
  }
  if (q.max === Infinity && minLen(q.body) === 0) problems.add("a repeated group must not match the empty string");
  for (const alt of alternations(q.body)) {
    const firsts = alt.alts.map(first);
    const overlap = firsts.some((f, i) => firsts.some((g, j) => j > i && intersects(f, g)));
    if (overlap) problems.add("repeated alternation with overlapping branches (e.g. (a|aa)*) can backtrack exponentially");
  }
}

/** `a*a*`, `\d+\d+`, `.*\s*.*`: adjacent unbounded repetitions that can share characters. */
function checkAdjacent(items: Node[], problems: Set<string>): void {
  for (let i = 0; i < items.length; i++) {
    const a = unwrap(items[i]!);
    if (a.t !== "quant" || a.max !== Infinity) continue;
    for (let j = i + 1; j < items.length; j++) {
      const b = unwrap(items[j]!);
      if (b.t === "quant" && b.max === Infinity && intersects(consumed(a), consumed(b))) {
        problems.add("adjacent unbounded quantifiers over overlapping characters backtrack polynomially");
        break;
      }
      if (minLen(items[j]!) > 0) break;
    }
  }
}

/**
 * An unanchored search retries from every position: a pattern that opens with an unbounded
 * repetition followed by something that can fail rescans the input (quadratic time), e.g.
 * `\w+@` on a long word. The scan stays linear when the repetition cannot run over the
 * next candidate start: `^`; a leading character it cannot match (`x[^x]*y`); `\b` before
 * a repetition of word characters only; a negative lookbehind on every character it can
 * consume (`(?<![\w.])[\w.]+@`).
 */
function checkLeading(root: Node, problems: Set<string>): void {
  const alts = root.t === "alt" ? root.alts : [root];
  for (const alt of alts) {
    const items = alt.t === "seq" ? alt.items : [alt];
    const prefix: CharSet[] = [];
    const fences: CharSet[] = []; // a repetition inside one of these never crosses a start
    for (let k = 0; k < items.length; k++) {
      const it = unwrap(items[k]!);
      if (it.t === "anchor") {
        if (it.kind === "^") break;
        if (it.kind === "b") fences.push(WORD);
        continue;
      }
      if (it.t === "look") {
        const body = unwrap(it.body);
        if (it.behind && it.negate && body.t === "chars") fences.push(body.set);
        continue; // lookarounds consume nothing: the scan still starts everywhere
      }
      if (it.t === "chars" || (it.t === "quant" && it.max !== Infinity && it.min >= 1 && unwrap(it.body).t === "chars")) {
        prefix.push(consumed(it));
        continue;
      }
      if (it.t === "quant" && it.max === Infinity) {
        const set = consumed(it);
        const guarded = prefix.some((p) => !intersects(p, set)) || fences.some((f) => isSubset(set, f));
        const canFailAfter = items.slice(k + 1).some((r) => minLen(r) > 0 || r.t === "anchor" || r.t === "look");
        if (!guarded && canFailAfter) {
          problems.add(
            "a leading unbounded quantifier rescans the input from every start position (quadratic); anchor it with ^, or start with a literal it cannot match",
          );
        }
      }
      break;
    }
  }
}

/**
 * Returns the reasons `source` is unsafe to run on untrusted text (empty when it is safe).
 * `flags` may contain `i`, `m`, `s`; the caller compiles with `gu` added.
 */
export function analyzeRegex(source: string, flags = ""): string[] {
  if (source.length > MAX_PATTERN_LENGTH) return [`pattern longer than ${MAX_PATTERN_LENGTH} characters`];
  let root: Node;
  try {
    root = new Parser(source, flags.includes("i")).parse();
  } catch (e) {
    return [`cannot analyze pattern: ${(e as Error).message}`];
  }
  const problems = new Set<string>();
  if (minLen(root) === 0) problems.add("pattern can match the empty string");
  check(root, problems);
  checkLeading(root, problems);
  return [...problems];
}
