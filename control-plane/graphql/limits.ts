/**
 * Query size limits as one graphql-js validation rule (no extra dependency): the nesting
 * depth of fields, and a cost that counts every field once per object it may be resolved
 * for — a field under `things(first: 100)` counts 100 times. Computed before execution,
 * so an expensive query is refused without touching the database.
 *
 * Introspection (`__schema`, `__type`) is counted like everything else — 1,000 aliased
 * `__schema` selections once took the event loop for seconds: its lists count as many
 * times as such lists hold on average in this schema (all types for `types`), so the
 * standard introspection query fits and nested or aliased copies of it do not. Aliases are
 * capped too.
 */
import {
  GraphQLError,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isUnionType,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isObjectType,
  type GraphQLNamedType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from "graphql";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../admin/page.js";

/** Limits of {@link queryLimitsRule}. */
export interface QueryLimits {
  /** Deepest field nesting accepted (`{ a { b } }` is 2). */
  readonly maxDepth: number;
  /** Largest cost accepted (see the module comment). */
  readonly maxCost: number;
  /** Most aliased fields in one operation (default {@link DEFAULT_MAX_ALIASES}). */
  readonly maxAliases?: number;
}

/** Deepest nesting accepted inside `__schema`/`__type` (the standard query's `ofType` chain is 9 deep). */
const MAX_INTROSPECTION_DEPTH = 16;
/**
 * Introspection fields are answered from memory: five of them weigh as one field that may
 * reach the database. The standard introspection query (~67k fields by this count) costs
 * ~13.5k, so it fits the default limit once, not twice.
 */
const INTROSPECTION_WEIGHT = 5;
/** Default alias cap: screens alias a handful of fields, an attack thousands. */
export const DEFAULT_MAX_ALIASES = 50;

/** The admin API's limits: enough for any real screen, far below a denial of service. */
export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({ maxDepth: 10, maxCost: 20_000, maxAliases: DEFAULT_MAX_ALIASES });

/** How many items each introspection list holds on average in `schema` (by field name of the meta types). */
function introspectionListSizes(schema: GraphQLSchema): Map<string, number> {
  const types = Object.values(schema.getTypeMap());
  const avg = (counts: number[]) => Math.max(1, Math.ceil(counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length)));
  const withFields = types.filter((t) => isObjectType(t) || isInterfaceType(t)) as Array<{ getFields(): Record<string, GraphQLField<unknown, unknown>> }>;
  const fields = withFields.flatMap((t) => Object.values(t.getFields()));
  return new Map([
    ["types", types.length],
    ["directives", schema.getDirectives().length],
    ["fields", avg(withFields.map((t) => Object.keys(t.getFields()).length))],
    ["args", avg(fields.map((f) => f.args.length))],
    ["inputFields", avg(types.filter(isInputObjectType).map((t) => Object.keys(t.getFields()).length))],
    ["enumValues", avg(types.filter(isEnumType).map((t) => t.getValues().length))],
    ["possibleTypes", avg(types.filter(isUnionType).map((t) => t.getTypes().length))],
    ["interfaces", avg(types.filter(isObjectType).map((t) => t.getInterfaces().length))],
  ]);
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

interface Measure {
  depth: number;
  cost: number;
  aliases: number;
}

interface Walk {
  readonly ctx: ValidationContext;
  readonly listSizes: Map<string, number>;
}

/** How many objects a list field may return: its literal `first`, else the largest page. */
function pageSize(value: ValueNode | undefined): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  if (value.kind === Kind.INT) return Math.min(Math.max(Number(value.value), 0), MAX_PAGE_SIZE);
  // A variable's value is unknown at validation time: assume the worst.
  return MAX_PAGE_SIZE;
}

function measure(w: Walk, type: GraphQLNamedType | undefined, set: SelectionSetNode, fragments: ReadonlySet<string>, introspection = false): Measure {
  const { ctx } = w;
  let depth = 0;
  let cost = 0;
  let aliases = 0;
  for (const sel of set.selections) {
    let inner: Measure;
    if (sel.kind === Kind.FIELD) {
      const name = sel.name.value;
      const meta = name === "__schema" ? SchemaMetaFieldDef : name === "__type" ? TypeMetaFieldDef : undefined;
      const def = meta ?? (type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[name] : undefined);
      const inIntrospection = introspection || meta !== undefined;
      const child = sel.selectionSet ? measure(w, def && getNamedType(def.type), sel.selectionSet, fragments, inIntrospection) : { depth: 0, cost: 0, aliases: 0 };
      let times = 1;
      if (def?.args.some((a) => a.name === "first")) times = pageSize(sel.arguments?.find((a) => a.name.value === "first")?.value);
      else if (inIntrospection && def && isList(def.type)) times = w.listSizes.get(name) ?? w.listSizes.get("types")!;
      // Introspection nesting has its own bound (its ofType chains are deep by design).
      const cost = 1 + times * child.cost;
      inner = { depth: meta ? 1 : child.depth + 1, cost: meta ? Math.ceil(cost / INTROSPECTION_WEIGHT) : cost, aliases: child.aliases + (sel.alias ? 1 : 0) };
      if (meta && child.depth + 1 > MAX_INTROSPECTION_DEPTH) ctx.reportError(new GraphQLError(`introspection is nested ${child.depth + 1} levels deep; the limit is ${MAX_INTROSPECTION_DEPTH}`, { nodes: [sel] }));
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      const cond = sel.typeCondition ? ctx.getSchema().getType(sel.typeCondition.name.value) : type;
      inner = measure(w, cond ?? undefined, sel.selectionSet, fragments, introspection);
    } else {
      const name = sel.name.value;
      const fragment = ctx.getFragment(name);
      // A cycle is reported by graphql's own NoFragmentCyclesRule; here it just stops.
      if (!fragment || fragments.has(name)) continue;
      inner = measure(w, ctx.getSchema().getType(fragment.typeCondition.name.value) ?? undefined, fragment.selectionSet, new Set([...fragments, name]), introspection);
    }
    depth = Math.max(depth, inner.depth);
    cost += inner.cost;
    aliases += inner.aliases;
  }
  return { depth, cost, aliases };
}

function rootType(ctx: ValidationContext, op: OperationDefinitionNode): GraphQLNamedType | undefined {
  const schema = ctx.getSchema();
  const root = op.operation === "query" ? schema.getQueryType() : op.operation === "mutation" ? schema.getMutationType() : schema.getSubscriptionType();
  return root ?? undefined;
}

/** A validation rule refusing operations deeper or costlier than `limits`, or with too many aliases. */
export function queryLimitsRule(limits: QueryLimits = DEFAULT_QUERY_LIMITS): ValidationRule {
  const sizes = new WeakMap<GraphQLSchema, Map<string, number>>();
  return (ctx: ValidationContext) => {
    const schema = ctx.getSchema();
    if (!sizes.has(schema)) sizes.set(schema, introspectionListSizes(schema));
    const walk: Walk = { ctx, listSizes: sizes.get(schema)! };
    const maxAliases = limits.maxAliases ?? DEFAULT_MAX_ALIASES;
    return {
      OperationDefinition(op) {
        const m = measure(walk, rootType(ctx, op), op.selectionSet, new Set());
        if (m.depth > limits.maxDepth) ctx.reportError(new GraphQLError(`query is nested ${m.depth} levels deep; the limit is ${limits.maxDepth}`, { nodes: [op] }));
        if (m.cost > limits.maxCost) ctx.reportError(new GraphQLError(`query may resolve ${m.cost} fields; the limit is ${limits.maxCost}`, { nodes: [op] }));
        if (m.aliases > maxAliases) ctx.reportError(new GraphQLError(`query uses ${m.aliases} aliases; the limit is ${maxAliases}`, { nodes: [op] }));
        return false;
      },
    };
  };
}
