/**
 * The role bindings in force, in the one form a proxy keeps them (issue 18: 500,000 bindings
 * in well under 300 MiB). Nothing else holds the bindings (the decoded snapshot is dropped
 * after compiling, the store lists the bindings from here for its disk copy).
 *
 * Compact because most of a binding repeats: bindings are grouped by scope — kind (group or
 * subject) and issuer, a short tag (few issuers, so a small table) — and each scope is one
 * map from the name exactly as decoded (no combined key string per binding: a template-built
 * key is a cons string plus its flattened copy, ~2× the bytes) to its role list, interned
 * (every name bound to the same roles shares one frozen array). A binding is then one short
 * string and a pointer.
 *
 * Changeable by delta without copying the world: a new index shares the previous one's scope
 * maps and adds a small overlay of the keys that changed (null = none left). Lookups read
 * the overlay, then the base. An edit that would make the overlay outgrow 1/8 of the base (or
 * 4,096 keys) switches, while it runs, to copying only the scope maps it touches and writing
 * into the copies (so a 450,000-binding delta makes no per-key edit records and no second
 * overlay: issue 18, the proxy's RSS after a bulk change). Adding a binding already in force,
 * or removing one that is not, changes nothing (bindings are a set, as on the control plane).
 *
 * An {@link BindingIndexEdit} is built step by step (the store yields to the event loop
 * between chunks of a large snapshot) and never changes the index it started from: the index
 * in force keeps answering, whole, until the finished one is swapped in.
 */
import type { RoleBinding } from "../../proto/gen/agentgate/v1/policy_pb.js";

/** What a binding names: an issuer's group, or one identity (subject). */
export type BindingKind = "group" | "subject";

type Roles = readonly string[];
type ScopeMap = ReadonlyMap<string, Roles>;

const MIN_FOLD = 4_096;
const SEP = "\u0000";
const KIND_PREFIX: Record<BindingKind, string> = { group: "g", subject: "s" };

/** One binding in force, by its parts (what the disk copy encodes). */
export interface BindingEntry {
  readonly kind: BindingKind;
  readonly issuer: string;
  readonly name: string;
  readonly roles: Roles;
}

/**
 * Append-only tables shared by an index and the ones derived from it by deltas: issuer ↔
 * tag, and one frozen role list per distinct list. Older indexes never see a tag or list
 * they did not use, so sharing is safe; a full rebuild starts new tables.
 */
class Symbols {
  readonly tags = new Map<string, string>();
  readonly issuers: string[] = [];
  readonly #lists = new Map<string, Roles>();

  tag(issuer: string): string {
    let tag = this.tags.get(issuer);
    if (tag === undefined) {
      tag = this.issuers.length.toString(36);
      this.tags.set(issuer, tag);
      this.issuers.push(issuer);
    }
    return tag;
  }

  list(roles: readonly string[]): Roles {
    const id = roles.join(SEP);
    let list = this.#lists.get(id);
    if (list === undefined) {
      list = Object.freeze([...roles]);
      this.#lists.set(id, list);
    }
    return list;
  }

  /** `roles` with `role` added (the same list when already there). */
  plus(roles: Roles | undefined, role: string): Roles {
    if (roles === undefined) return this.list([role]);
    return roles.includes(role) ? roles : this.list([...roles, role]);
  }

  /** `roles` without `role`; undefined when none is left (the same list when not there). */
  minus(roles: Roles | undefined, role: string): Roles | undefined {
    if (roles === undefined || !roles.includes(role)) return roles;
    return roles.length === 1 ? undefined : this.list(roles.filter((r) => r !== role));
  }
}

/** A binding's scope (kind + issuer tag) and name, or undefined (with a problem) when it names neither group nor subject. */
function partsOf(symbols: Symbols, b: RoleBinding, problems: string[]): [scope: string, name: string] | undefined {
  if (b.group) return [KIND_PREFIX.group + symbols.tag(b.issuer), b.group];
  if (b.subject) return [KIND_PREFIX.subject + symbols.tag(b.issuer), b.subject];
  problems.push(`role binding for ${b.role} has neither group nor subject`);
  return undefined;
}

/** An immutable index of role bindings (see the module comment). */
export class BindingIndex {
  /** @internal (use {@link BindingIndex.of}, {@link BindingIndex.edit}) */
  constructor(
    readonly symbols: Symbols,
    readonly base: ReadonlyMap<string, ScopeMap>,
    readonly baseKeys: number,
    readonly overlay: ReadonlyMap<string, Roles | null>,
  ) {}

  /** An index with nothing bound (its own tables). */
  static empty(): BindingIndex {
    return new BindingIndex(new Symbols(), new Map(), 0, new Map());
  }

  /** An index of `bindings`; bindings with neither group nor subject are left out and reported in `problems`. */
  static of(bindings: Iterable<RoleBinding>, problems: string[]): BindingIndex {
    const edit = BindingIndex.empty().edit(problems);
    for (const b of bindings) edit.add(b);
    return edit.finish();
  }

  /** The roles bound to `name` (a group or a subject of `issuer`); undefined when none. */
  roles(kind: BindingKind, issuer: string, name: string): Roles | undefined {
    const tag = this.symbols.tags.get(issuer);
    return tag === undefined ? undefined : this.get(KIND_PREFIX[kind] + tag, name);
  }

  /** @internal The roles of `name` in `scope`. */
  get(scope: string, name: string): Roles | undefined {
    if (this.overlay.size > 0) {
      const changed = this.overlay.get(scope + SEP + name);
      if (changed !== undefined) return changed ?? undefined;
    }
    return this.base.get(scope)?.get(name);
  }

  /**
   * A change starting from this index (which it never alters); problems of invalid bindings
   * go to `problems`. `overlayLimit` overrides the overlay bound (tests: exercise both modes).
   */
  edit(problems: string[], overlayLimit?: number): BindingIndexEdit {
    return new BindingIndexEdit(this, problems, overlayLimit);
  }

  /** A new index with `removed` then `added` applied; bindings with neither group nor subject are reported in `problems`. */
  with(added: Iterable<RoleBinding>, removed: Iterable<RoleBinding>, problems: string[], overlayLimit?: number): BindingIndex {
    const edit = this.edit(problems, overlayLimit);
    for (const b of removed) edit.remove(b);
    for (const b of added) edit.add(b);
    return edit.finish();
  }

  /** Every (scope, name, roles) in force, the overlay's view over the base's. */
  *#entries(): Generator<[string, string, Roles]> {
    for (const [key, roles] of this.overlay) {
      const sep = key.indexOf(SEP);
      if (roles !== null) yield [key.slice(0, sep), key.slice(sep + 1), roles];
    }
    for (const [scope, names] of this.base)
      for (const [name, roles] of names) if (this.overlay.size === 0 || !this.overlay.has(scope + SEP + name)) yield [scope, name, roles];
  }

  /** Number of bindings in force. */
  get size(): number {
    let n = 0;
    for (const [, , roles] of this.#entries()) n += roles.length;
    return n;
  }

  /** Every name in force with its roles, one at a time (for the disk copy: no binding messages made). */
  *entries(): Generator<BindingEntry> {
    for (const [scope, name, roles] of this.#entries()) {
      const issuer = this.symbols.issuers[parseInt(scope.slice(1), 36)]!;
      yield { kind: scope[0] === KIND_PREFIX.group ? "group" : "subject", issuer, name, roles };
    }
  }

  /** Every binding in force, as plain values (tests and diagnostics). */
  *bindings(): Generator<{ role: string; issuer: string; group: string; subject: string }> {
    for (const e of this.entries())
      for (const role of e.roles) yield { role, issuer: e.issuer, group: e.kind === "group" ? e.name : "", subject: e.kind === "subject" ? e.name : "" };
  }
}

/**
 * A change to an index, made one binding at a time; `finish` makes the new index. Small
 * changes collect into an overlay; past the overlay bound the edit copies the scope maps it
 * touches (once each) and writes into them. The index it started from is never altered.
 */
export class BindingIndexEdit {
  readonly #from: BindingIndex;
  readonly #problems: string[];
  readonly #limit: number;
  // Small mode: the changed keys (scope + SEP + name) and their roles after (null = none).
  #edits: Map<string, Roles | null> | undefined = new Map();
  // Large mode: the scope maps, copied on first write; keys counted as they come and go.
  #scopes: Map<string, ScopeMap> | undefined;
  readonly #copied = new Set<string>();
  #keys = 0;

  constructor(from: BindingIndex, problems: string[], overlayLimit?: number) {
    this.#from = from;
    this.#problems = problems;
    this.#limit = overlayLimit ?? Math.max(MIN_FOLD, from.baseKeys >> 3);
  }

  /** Adds one binding (nothing if already in force). */
  add(b: RoleBinding): void {
    const parts = partsOf(this.#from.symbols, b, this.#problems);
    if (parts === undefined) return;
    const [scope, name] = parts;
    const roles = this.#get(scope, name);
    const next = this.#from.symbols.plus(roles, b.role);
    if (next !== roles) this.#put(scope, name, roles, next);
  }

  /** Removes one binding (nothing if not in force). Invalid ones are ignored, not reported: nothing to remove. */
  remove(b: RoleBinding): void {
    const parts = partsOf(this.#from.symbols, b, []);
    if (parts === undefined) return;
    const [scope, name] = parts;
    const roles = this.#get(scope, name);
    const next = this.#from.symbols.minus(roles, b.role);
    if (next !== roles) this.#put(scope, name, roles, next);
  }

  /** The new index (the one it started from when nothing changed). Call once. */
  finish(): BindingIndex {
    const from = this.#from;
    if (this.#scopes !== undefined) return new BindingIndex(from.symbols, this.#scopes, this.#keys, new Map());
    const edits = this.#edits!;
    if (edits.size === 0) return from;
    const overlay = new Map(from.overlay);
    for (const [key, roles] of edits) overlay.set(key, roles);
    return new BindingIndex(from.symbols, from.base, from.baseKeys, overlay);
  }

  #get(scope: string, name: string): Roles | undefined {
    if (this.#scopes !== undefined) return this.#scopes.get(scope)?.get(name);
    const edited = this.#edits!.get(scope + SEP + name);
    if (edited !== undefined) return edited ?? undefined;
    return this.#from.get(scope, name);
  }

  #put(scope: string, name: string, before: Roles | undefined, after: Roles | undefined): void {
    if (this.#scopes !== undefined) return this.#write(scope, name, before, after);
    this.#edits!.set(scope + SEP + name, after ?? null);
    if (this.#from.overlay.size + this.#edits!.size > this.#limit) this.#toLarge();
  }

  /** Switches to writing into copied scope maps: the base, then the overlay and the edits so far, applied. */
  #toLarge(): void {
    const from = this.#from;
    this.#scopes = new Map(from.base);
    this.#keys = from.baseKeys;
    for (const changes of [from.overlay, this.#edits!])
      for (const [key, roles] of changes) {
        const sep = key.indexOf(SEP);
        const scope = key.slice(0, sep);
        const name = key.slice(sep + 1);
        this.#write(scope, name, this.#scopes.get(scope)?.get(name), roles ?? undefined);
      }
    this.#edits = undefined;
  }

  #write(scope: string, name: string, before: Roles | undefined, after: Roles | undefined): void {
    const scopes = this.#scopes!;
    let names = scopes.get(scope) as Map<string, Roles> | undefined;
    if (names === undefined || !this.#copied.has(scope)) {
      names = new Map(names);
      scopes.set(scope, names);
      this.#copied.add(scope);
    }
    if (after === undefined) names.delete(name);
    else names.set(name, after);
    this.#keys += (after === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
  }
}
