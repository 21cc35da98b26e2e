/**
 * The role bindings in force, in the one form a proxy keeps them (issue 18: 500,000 bindings
 * in well under 300 MiB). One map from a combined key — kind, issuer, group or subject — to
 * the roles bound to it; nothing else holds the bindings (the decoded snapshot is dropped
 * after compiling, the store lists the bindings from here for its disk copy).
 *
 * Compact because most of a binding repeats: the issuer is a short tag in the key (few
 * issuers, so a small table), and the role list is interned (every key bound to the same
 * roles shares one frozen array). A key is then one short string and a pointer.
 *
 * Changeable by delta without copying: a new index shares the previous one's base map and
 * adds a small overlay of the keys that changed (null = none left). Lookups read the
 * overlay, then the base. When the overlay outgrows 1/8 of the base (or 4,096 keys) the
 * next change folds it into a new base, so the copying is amortized over many changes.
 * Adding a binding already in force, or removing one that is not, changes nothing (bindings
 * are a set, as on the control plane).
 */
import { create } from "@bufbuild/protobuf";
import { RoleBindingSchema, type RoleBinding } from "../../proto/gen/agentgate/v1/policy_pb.js";

/** What a binding names: an issuer's group, or one identity (subject). */
export type BindingKind = "group" | "subject";

type Roles = readonly string[];

const MIN_FOLD = 4_096;
const SEP = "\u0000";
const KIND_PREFIX: Record<BindingKind, string> = { group: "g", subject: "s" };

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
}

/** The map key of a binding, or undefined (with a problem) when it names neither group nor subject. */
function keyOf(symbols: Symbols, b: RoleBinding, problems: string[]): string | undefined {
  if (b.group) return `${KIND_PREFIX.group}${symbols.tag(b.issuer)}${SEP}${b.group}`;
  if (b.subject) return `${KIND_PREFIX.subject}${symbols.tag(b.issuer)}${SEP}${b.subject}`;
  problems.push(`role binding for ${b.role} has neither group nor subject`);
  return undefined;
}

/** An immutable index of role bindings (see the module comment). */
export class BindingIndex {
  private constructor(
    private readonly symbols: Symbols,
    private readonly base: ReadonlyMap<string, Roles>,
    private readonly overlay: ReadonlyMap<string, Roles | null>,
  ) {}

  /** An index of `bindings`; bindings with neither group nor subject are left out and reported in `problems`. */
  static of(bindings: Iterable<RoleBinding>, problems: string[]): BindingIndex {
    const symbols = new Symbols();
    const map = new Map<string, Roles>();
    for (const b of bindings) {
      const key = keyOf(symbols, b, problems);
      if (key === undefined) continue;
      const roles = map.get(key);
      if (roles === undefined) map.set(key, symbols.list([b.role]));
      else if (!roles.includes(b.role)) map.set(key, symbols.list([...roles, b.role]));
    }
    return new BindingIndex(symbols, map, new Map());
  }

  /** The roles bound to `name` (a group or a subject of `issuer`); undefined when none. */
  roles(kind: BindingKind, issuer: string, name: string): Roles | undefined {
    const tag = this.symbols.tags.get(issuer);
    return tag === undefined ? undefined : this.#get(`${KIND_PREFIX[kind]}${tag}${SEP}${name}`);
  }

  #get(key: string): Roles | undefined {
    const changed = this.overlay.get(key);
    if (changed !== undefined) return changed ?? undefined;
    return this.base.get(key);
  }

  /** A new index with `removed` then `added` applied; bindings with neither group nor subject are reported in `problems`. */
  with(added: Iterable<RoleBinding>, removed: Iterable<RoleBinding>, problems: string[]): BindingIndex {
    const edits = new Map<string, string[]>();
    const edit = (key: string): string[] => {
      let roles = edits.get(key);
      if (roles === undefined) {
        roles = [...(this.#get(key) ?? [])];
        edits.set(key, roles);
      }
      return roles;
    };
    for (const b of removed) {
      const key = keyOf(this.symbols, b, []);
      if (key === undefined) continue;
      const roles = edit(key);
      const at = roles.indexOf(b.role);
      if (at >= 0) roles.splice(at, 1);
    }
    for (const b of added) {
      const key = keyOf(this.symbols, b, problems);
      if (key === undefined) continue;
      const roles = edit(key);
      if (!roles.includes(b.role)) roles.push(b.role);
    }
    if (edits.size === 0) return this;
    const overlay = new Map(this.overlay);
    for (const [key, roles] of edits) overlay.set(key, roles.length > 0 ? this.symbols.list(roles) : null);
    if (overlay.size <= Math.max(MIN_FOLD, this.base.size >> 3)) return new BindingIndex(this.symbols, this.base, overlay);
    const base = new Map(this.base);
    for (const [key, roles] of overlay) {
      if (roles !== null) base.set(key, roles);
      else base.delete(key);
    }
    return new BindingIndex(this.symbols, base, new Map());
  }

  /** Every (key, roles) in force, the overlay's view over the base's. */
  *#entries(): Generator<[string, Roles]> {
    for (const [key, roles] of this.overlay) if (roles !== null) yield [key, roles];
    for (const [key, roles] of this.base) if (!this.overlay.has(key)) yield [key, roles];
  }

  /** Number of bindings in force. */
  get size(): number {
    let n = 0;
    for (const [, roles] of this.#entries()) n += roles.length;
    return n;
  }

  /** Every binding in force, made one at a time (for the disk copy: never all at once). */
  *bindings(): Generator<RoleBinding> {
    for (const [key, roles] of this.#entries()) {
      const sep = key.indexOf(SEP);
      const issuer = this.symbols.issuers[parseInt(key.slice(1, sep), 36)]!;
      const name = key.slice(sep + 1);
      const kind = key[0] === KIND_PREFIX.group ? "group" : "subject";
      for (const role of roles) yield create(RoleBindingSchema, { role, issuer, [kind]: name });
    }
  }
}
