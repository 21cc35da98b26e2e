/**
 * Query size limits as one graphql-js validation rule (no extra dependency): the nesting
 * depth of fields, and a cost that counts every field once per object it may be resolved
 * for — a field under `things(first: 100)` counts 100 times. Computed before execution,
 * so an expensive query is refused without touching the database.
 *
 * Introspection fields (`__schema`, `__type`) are not counted: they never reach the
 * database, and whether introspection is allowed at all is a separate setting.
 */
import {
  GraphQLError,
  Kind,
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
}

/** The admin API's limits: enough for any real screen, far below a denial of service. */
export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({ maxDepth: 10, maxCost: 20_000 });

interface Measure {
  depth: number;
  cost: number;
}

/** How many objects a list field may return: its literal `first`, else the largest page. */
function pageSize(value: ValueNode | undefined): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  if (value.kind === Kind.INT) return Math.min(Math.max(Number(value.value), 0), MAX_PAGE_SIZE);
  // A variable's value is unknown at validation time: assume the worst.
  return MAX_PAGE_SIZE;
}

function measure(ctx: ValidationContext, type: GraphQLNamedType | undefined, set: SelectionSetNode, fragments: ReadonlySet<string>): Measure {
  let depth = 0;
  let cost = 0;
  for (const sel of set.selections) {
    let inner: Measure;
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value.startsWith("__")) continue;
      const def = type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[sel.name.value] : undefined;
      const isList = def?.args.some((a) => a.name === "first") === true;
      const child = sel.selectionSet ? measure(ctx, def && getNamedType(def.type), sel.selectionSet, fragments) : { depth: 0, cost: 0 };
      const times = isList ? pageSize(sel.arguments?.find((a) => a.name.value === "first")?.value) : 1;
      inner = { depth: child.depth + 1, cost: 1 + times * child.cost };
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      const cond = sel.typeCondition ? ctx.getSchema().getType(sel.typeCondition.name.value) : type;
      inner = measure(ctx, cond ?? undefined, sel.selectionSet, fragments);
    } else {
      const name = sel.name.value;
      const fragment = ctx.getFragment(name);
      // A cycle is reported by graphql's own NoFragmentCyclesRule; here it just stops.
      if (!fragment || fragments.has(name)) continue;
      inner = measure(ctx, ctx.getSchema().getType(fragment.typeCondition.name.value) ?? undefined, fragment.selectionSet, new Set([...fragments, name]));
    }
    depth = Math.max(depth, inner.depth);
    cost += inner.cost;
  }
  return { depth, cost };
}

function rootType(ctx: ValidationContext, op: OperationDefinitionNode): GraphQLNamedType | undefined {
  const schema = ctx.getSchema();
  const root = op.operation === "query" ? schema.getQueryType() : op.operation === "mutation" ? schema.getMutationType() : schema.getSubscriptionType();
  return root ?? undefined;
}

/** A validation rule refusing operations deeper or costlier than `limits`. */
export function queryLimitsRule(limits: QueryLimits = DEFAULT_QUERY_LIMITS): ValidationRule {
  return (ctx: ValidationContext) => ({
    OperationDefinition(op) {
      const m = measure(ctx, rootType(ctx, op), op.selectionSet, new Set());
      if (m.depth > limits.maxDepth) ctx.reportError(new GraphQLError(`query is nested ${m.depth} levels deep; the limit is ${limits.maxDepth}`, { nodes: [op] }));
      if (m.cost > limits.maxCost) ctx.reportError(new GraphQLError(`query may resolve ${m.cost} fields; the limit is ${limits.maxCost}`, { nodes: [op] }));
      return false;
    },
  });
}
