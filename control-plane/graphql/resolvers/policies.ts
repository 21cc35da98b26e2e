import type { PseudonymScope } from "../../../common/masking/pseudonym-scope.js";
import { createPolicy, deletePolicy, getPolicy, listPolicies, updatePolicy, type PolicyFilter, type PolicyInput } from "../../admin/policies.js";
import type { PolicyLimits } from "../../admin/policy-rules.js";
import { parseInput, policyInputSchema, updateSchema } from "../../admin/input-schemas.js";
import { withCaller } from "../guard.js";
import { deleted, pairs, payload, unpairs } from "../map.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

type LimitsInput = Omit<Partial<PolicyLimits>, "costPerRun"> & { costPerRun?: Array<{ graph: string; cost: number }> | null };
type Input = Omit<PolicyInput, "limits"> & { limits?: LimitsInput | null };

/** GraphQL's cost pairs as the shared input shape (a map), still to be parsed. */
function unpaired(input: Input): unknown {
  const { limits, ...rest } = input;
  if (!limits) return { ...rest, ...(limits === null ? { limits: null } : {}) };
  const { costPerRun, ...numbers } = limits;
  return { ...rest, limits: { ...numbers, ...(costPerRun === undefined ? {} : { costPerRun: unpairs<number>(costPerRun, "graph", "cost") }) } };
}
// Parsed by the schema the policy file's policies are parsed by.
const createInput = (input: Input): PolicyInput => parseInput(policyInputSchema, unpaired(input));
const updateInput = (input: Input): PolicyInput => parseInput(updateSchema(policyInputSchema), unpaired(input));

/** Policies: CRUD (READ / WRITE; policy-affecting). */
export const policyResolvers = {
  PseudonymScope: { EXCHANGE: "exchange", THREAD: "thread", IDENTITY: "identity" } satisfies Record<Uppercase<PseudonymScope>, PseudonymScope>,
  PolicyLimits: {
    costPerRun: (l: PolicyLimits) => pairs(l.costPerRun, "graph", "cost"),
  },
  Query: {
    policies: withCaller(async (args: ConnectionArgs & { filter?: PolicyFilter | null }, _by, ctx) =>
      toConnection(await listPolicies(ctx.admin.db, args.filter ?? {}, pageRequest(args))),
    ),
    policy: withCaller((args: { id: string }, _by, ctx) => getPolicy(ctx.admin.db, args.id)),
  },
  Mutation: {
    createPolicy: withCaller(async (args: { input: Input }, by, ctx) => payload("policy", await createPolicy(ctx.admin, by, createInput(args.input)))),
    updatePolicy: withCaller(async (args: { id: string; input: Input }, by, ctx) =>
      payload("policy", await updatePolicy(ctx.admin, by, args.id, updateInput(args.input))),
    ),
    deletePolicy: withCaller(async (args: { id: string }, by, ctx) => deleted(await deletePolicy(ctx.admin, by, args.id))),
  },
};
