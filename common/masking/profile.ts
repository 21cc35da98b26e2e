import type { Detector, MaskStyle, Span } from "./types.js";
import { BUILTIN_DETECTORS } from "./detectors/index.js";
import { scan } from "./detectors/scan.js";
import type { TextShape } from "./detectors/text-shape.js";
import { buildPathTrie, parsePath, type PathNode, type PathSegment } from "./json-path.js";
import { compileKeyMatcher, normalizeKey, type KeyMatcher } from "./key-names.js";
import { compileAdminPattern } from "../policy/admin-pattern.js";

/** One masking rule as stored by the control plane (ordered: earlier rules win). */
export interface MaskingRuleSpec {
  kind: "key" | "path" | "detector" | "regex" | "passthrough";
  /**
   * Key name (`*` wildcard), JSON path, detector name, or regex (`pattern` or `/pattern/flags`);
   * for `passthrough`, what is let through unmasked: only `uninspectable` (response bodies that
   * are not text — binary, undecodable bytes, unknown charsets — are relayed instead of refused).
   */
  match: string;
  /** Replacement style; empty means "redact" (proto3 default). */
  style: MaskStyle;
  /** Label in `[REDACTED:<label>]`, pseudonyms and counts; defaults per kind. */
  label?: string;
}

/** A rule as the engine applies it. */
export interface CompiledRule {
  readonly index: number;
  readonly label: string;
  readonly style: MaskStyle;
  /** Whether "partial" may reveal the last four digits (cards, phones). */
  readonly partialSafe: boolean;
  /** For streamed text: what ends a cut-off match being swallowed. */
  readonly streamEnd: RegExp | undefined;
}

/** Something that finds spans in free text for one rule (a detector or a custom regex). */
export interface TextMatcher {
  readonly rule: number;
  find(text: string, shape?: TextShape): Span[];
  /** The detector's necessary condition (see Detector.mayMatch): findSpans skips `find` when false. */
  mayMatch?(text: string, shape: TextShape): boolean;
  /** The built-in detector, for a `detector` rule (the pre-filter knows each one's triggers). */
  readonly detector?: Detector;
  /** The compiled admin pattern (RE2), for a `regex` rule. */
  readonly regex?: RegExp;
}

/** A profile compiled once, applied to many values. Immutable. */
export interface CompiledProfile {
  readonly rules: readonly CompiledRule[];
  /** Key-name rules, or undefined when the profile has none. */
  readonly keys: KeyMatcher | undefined;
  /** JSON path trie, or undefined when the profile has none. */
  readonly paths: PathNode | undefined;
  /** Detectors and custom regexes, in rule order. */
  readonly matchers: readonly TextMatcher[];
  /** A `passthrough: uninspectable` rule: bodies that cannot be inspected are relayed, not refused. */
  readonly passUninspectable: boolean;
  /** The key rules' names, normalised (`normalizeKey`), `*` kept: what the pre-filter looks for. */
  readonly keyNames: readonly string[];
  /** The rules as given: a masking worker (pool.ts) compiles the same profile from them. */
  readonly specs: readonly MaskingRuleSpec[];
}

/** Thrown by compileProfile with every problem found, not just the first. */
export class MaskingProfileError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid masking profile: ${problems.join("; ")}`);
    this.name = "MaskingProfileError";
    this.problems = problems;
  }
}

/** Most rules a profile may have (each regex rule costs a scan of every string). */
export const MAX_RULES = 256;
const KINDS = new Set(["key", "path", "detector", "regex", "passthrough"]);
const STYLES = new Set<string>(["redact", "partial", "pseudonym"]);
const LABEL = /^[A-Za-z0-9_.-]{1,64}$/;
const REGEX_LITERAL = /^\/([\s\S]+)\/([a-z]*)$/;

type Checked =
  | { kind: "key"; name: string }
  | { kind: "path"; segments: PathSegment[] }
  | { kind: "detector"; detector: Detector }
  | { kind: "regex"; re: RegExp }
  | { kind: "passthrough" };

/** Validates one rule; pushes problems and returns its compiled matcher part when valid. */
function checkRule(rule: unknown, i: number, problems: string[]): Checked | null {
  const at = `rule ${i}`;
  if (typeof rule !== "object" || rule === null) {
    problems.push(`${at}: must be an object`);
    return null;
  }
  const { kind, match, style, label } = rule as Record<string, unknown>;
  const before = problems.length;
  if (typeof kind !== "string" || !KINDS.has(kind)) problems.push(`${at}: unknown kind ${JSON.stringify(kind)} (expected key, path, detector, regex or passthrough)`);
  if (style !== undefined && style !== "" && (typeof style !== "string" || !STYLES.has(style))) {
    problems.push(`${at}: unknown style ${JSON.stringify(style)} (expected redact, partial or pseudonym)`);
  }
  if (label !== undefined && label !== "" && (typeof label !== "string" || !LABEL.test(label))) {
    problems.push(`${at}: label must be 1-64 characters of A-Z, a-z, 0-9, "_", ".", "-"`);
  }
  if (typeof match !== "string" || match.length === 0) {
    problems.push(`${at}: match must be a non-empty string`);
    return null;
  }
  let checked: Checked | null = null;
  switch (kind) {
    case "key":
      if (match.length > 128 || normalizeKey(match).replace(/\*/g, "") === "") problems.push(`${at}: key name must have 1-128 characters besides "*" and separators`);
      else checked = { kind, name: match };
      break;
    case "path":
      try {
        checked = { kind, segments: parsePath(match) };
      } catch (e) {
        problems.push(`${at}: invalid JSON path ${JSON.stringify(match)}: ${(e as Error).message}`);
      }
      break;
    case "detector": {
      const detector = BUILTIN_DETECTORS.get(match);
      if (detector === undefined) problems.push(`${at}: unknown detector ${JSON.stringify(match)} (known: ${[...BUILTIN_DETECTORS.keys()].join(", ")})`);
      else checked = { kind, detector };
      break;
    }
    case "regex":
      checked = checkRegex(match, at, problems);
      break;
    case "passthrough":
      if (match !== "uninspectable") problems.push(`${at}: passthrough match must be "uninspectable"`);
      else checked = { kind };
      break;
    default:
  }
  return problems.length === before ? checked : null;
}

/** Custom regexes always run with `g` and `u` (strict syntax, code-point semantics). */
function checkRegex(match: string, at: string, problems: string[]): Checked | null {
  const literal = REGEX_LITERAL.exec(match);
  const source = literal ? literal[1]! : match;
  const flags = literal ? literal[2]! : "";
  const bad = [...flags].filter((f) => !"ims".includes(f));
  if (bad.length > 0) {
    problems.push(`${at}: unsupported regex flags "${bad.join("")}" (allowed: i, m, s)`);
    return null;
  }
  // The shared admin-pattern compiler (RE2): linear time whatever the pattern.
  const compiled = compileAdminPattern(source, `${flags}g`);
  if (!compiled.ok) {
    problems.push(`${at}: ${compiled.problem}`);
    return null;
  }
  return { kind: "regex", re: compiled.re };
}

/** Checks every rule once: the problems, and each rule's compiled part (null when invalid). */
function checkAll(rules: readonly MaskingRuleSpec[]): { problems: string[]; checked: Array<Checked | null> } {
  if (!Array.isArray(rules)) return { problems: ["profile must be an array of rules"], checked: [] };
  const problems: string[] = [];
  if (rules.length > MAX_RULES) problems.push(`profile has ${rules.length} rules; at most ${MAX_RULES} are allowed`);
  const checked = rules.map((r, i) => checkRule(r, i, problems));
  return { problems, checked };
}

/** Lists every problem of a profile (empty when valid). For the control plane's validation. */
export function validateProfile(rules: readonly MaskingRuleSpec[]): string[] {
  return checkAll(rules).problems;
}

function defaultLabel(spec: MaskingRuleSpec, checked: Checked): string {
  switch (checked.kind) {
    case "detector":
      return checked.detector.name;
    case "key":
      return spec.match.toLowerCase().replace(/[^a-z0-9_.-]+/g, "_").replace(/^[_.-]+|[_.-]+$/g, "") || "key";
    case "path":
      return "path";
    case "regex":
      return "custom";
    case "passthrough":
      return "passthrough";
  }
}

/**
 * Compiles rules once into lookup structures (key Map, path trie, ordered text matchers).
 * Throws MaskingProfileError listing all invalid rules.
 */
export function compileProfile(rules: readonly MaskingRuleSpec[]): CompiledProfile {
  const { problems, checked: all } = checkAll(rules);
  if (problems.length > 0) throw new MaskingProfileError(problems);
  const compiled: CompiledRule[] = [];
  const keyRules: Array<{ name: string; rule: number }> = [];
  const pathRules: Array<{ segments: PathSegment[]; rule: number }> = [];
  const matchers: TextMatcher[] = [];
  let passUninspectable = false;
  rules.forEach((spec, index) => {
    const checked = all[index]!;
    const detector = checked.kind === "detector" ? checked.detector : undefined;
    compiled.push(
      Object.freeze({
        index,
        label: spec.label || defaultLabel(spec, checked),
        style: spec.style || "redact",
        partialSafe: detector?.partialSafe === true,
        streamEnd: detector?.streamEnd,
      }),
    );
    switch (checked.kind) {
      case "key":
        keyRules.push({ name: checked.name, rule: index });
        break;
      case "path":
        pathRules.push({ segments: checked.segments, rule: index });
        break;
      case "detector":
        matchers.push({ rule: index, find: checked.detector.find, mayMatch: checked.detector.mayMatch, detector: checked.detector });
        break;
      case "regex": {
        const re = checked.re;
        matchers.push({ rule: index, find: (text) => scan(re, text), regex: re });
        break;
      }
      case "passthrough":
        passUninspectable = true;
        break;
    }
  });
  return Object.freeze({
    rules: Object.freeze(compiled),
    keys: compileKeyMatcher(keyRules),
    paths: buildPathTrie(pathRules),
    matchers: Object.freeze(matchers),
    passUninspectable,
    keyNames: Object.freeze(keyRules.map((k) => normalizeKey(k.name))),
    specs: Object.freeze(rules.map((r) => ({ ...r }))),
  });
}

/** Key names masked whole by the default profile (wildcards cover prefixed variants). */
const DEFAULT_KEYS = [
  "*password", "passwd", "pwd", "passphrase", "*secret", "*secret_key", "*api_key", "*access_key",
  "*private_key", "*token", "*authorization", "cookie", "set-cookie", "credentials", "*credential",
  "ssn", "card_number", "cvv", "cvc",
];

/** The rules of the default profile: common secret key names, then every built-in detector. */
export const DEFAULT_RULES: readonly MaskingRuleSpec[] = Object.freeze([
  ...DEFAULT_KEYS.map((k): MaskingRuleSpec => ({ kind: "key", match: k, style: "redact", label: k.replace(/^\*/, "") })),
  ...[...BUILTIN_DETECTORS.keys()].map((d): MaskingRuleSpec => ({ kind: "detector", match: d, style: "redact" })),
]);

let defaultCompiled: CompiledProfile | undefined;

/** The compiled default profile, used when a policy names none (compiled once). */
export function defaultProfile(): CompiledProfile {
  return (defaultCompiled ??= compileProfile(DEFAULT_RULES));
}
