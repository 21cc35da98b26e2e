/**
 * One zod schema per admin input shape, shared by every write path: the policy file
 * (policy-file/document.ts composes its sections from these) and the GraphQL mutations
 * (each resolver parses its `input` with the same schema through {@link parseInput}). They
 * check the SHAPE only (known keys, types); what values mean — names, URLs, patterns,
 * ranges, references, who may grant what — is checked by the admin services, in one round,
 * for every path alike.
 *
 * Optional fields are `nullish`: null (GraphQL's explicit null) and absence both mean "the
 * service's default" on create and "keep" / "reset" as each service documents on update.
 * Path-specific extras are added where the path is: the file's `credentialEnv` and role
 * `bindings`, GraphQL's `credential`.
 */
import { z } from "zod";
import { PSEUDONYM_SCOPES } from "../../common/masking/pseudonym-scope.js";
import { badInput } from "../errors.js";

const text = z.string();
const count = z.number();

export const identityProviderInputSchema = z.strictObject({
  issuer: text,
  jwksUri: text.nullish(),
  audiences: z.array(text).nullish(),
  groupsClaim: text.nullish(),
  allowedAlgorithms: z.array(text).nullish(),
  clockToleranceSeconds: count.nullish(),
  /** claim value → group */
  groupMapping: z.record(text, text).nullish(),
});

export const roleInputSchema = z.strictObject({ name: text, description: text.nullish() });

/** A connection without its credential (each path brings that its own way). */
export const connectionInputSchema = z.strictObject({
  name: text,
  baseUrl: text,
  credentialHeader: text.nullish(),
  connectTimeoutMs: count.nullish(),
  headersTimeoutMs: count.nullish(),
  bodyTimeoutMs: count.nullish(),
});

export const maskingRuleInputSchema = z.strictObject({ kind: text, match: text, style: text.nullish(), label: text.nullish() });
export const maskingProfileInputSchema = z.strictObject({ name: text, description: text.nullish(), rules: z.array(maskingRuleInputSchema) });

export const limitsInputSchema = z.strictObject({
  requestsPerMinute: count.nullish(),
  burst: count.nullish(),
  concurrentRuns: count.nullish(),
  costBudgetPerDay: count.nullish(),
  maxBodyBytes: count.nullish(),
  maxRecursionLimit: count.nullish(),
  /** graph id or glob → cost per run */
  costPerRun: z.record(text, count).nullish(),
  costPer1kTokens: count.nullish(),
  maxCostPerRun: count.nullish(),
});

export const denyRuleInputSchema = z.strictObject({ id: text.nullish(), pattern: text, path: text.nullish(), message: text.nullish() });

export const approvalInputSchema = z.strictObject({
  required: z.boolean().nullish(),
  approverRoles: z.array(text).nullish(),
  grantTtlSeconds: count.nullish(),
  grantUses: count.nullish(),
  notifyUrl: text.nullish(),
});

export const policyInputSchema = z.strictObject({
  name: text,
  description: text.nullish(),
  role: text,
  connection: text,
  graphs: z.array(text),
  operations: z.array(text),
  maskingProfile: text.nullish(),
  maskRequests: z.boolean().nullish(),
  pseudonymScope: z.enum(PSEUDONYM_SCOPES).nullish(),
  limits: limitsInputSchema.nullish(),
  denylist: z.array(denyRuleInputSchema).nullish(),
  approval: approvalInputSchema.nullish(),
});

/** Names one identity: by id, or by issuer and subject (which of them is checked by the service). */
export const identityRefInputSchema = z.strictObject({ id: text.nullish(), issuer: text.nullish(), subject: text.nullish() });

/** A role granted to a group of one issuer (GraphQL's bindRoleToGroup; a file's role binding with `group`). */
export const groupBindingInputSchema = z.strictObject({ role: text, issuer: text, group: text });

/** A role granted to one identity (GraphQL's bindRoleToIdentity; a file's role binding with `subject`). */
export const identityBindingInputSchema = z.strictObject({ role: text, identity: identityRefInputSchema });

/**
 * A binding as a policy file lists it under its role: BindRoleToGroupInput without the role,
 * or BindRoleToIdentityInput's identity named by issuer and subject (a file cannot know ids).
 */
export const fileBindingInputSchema = z.union(
  [groupBindingInputSchema.omit({ role: true }), identityRefInputSchema.pick({ issuer: true, subject: true }).extend({ issuer: text, subject: text })],
  { error: "each binding needs an issuer and exactly one of group or subject" },
);

export const apiTokenInputSchema = z.strictObject({ name: text, scopes: z.array(text), expiresInSeconds: count.nullish() });

/** Every zod issue as "path: message" (path like `policies[0].limits.burst`). */
export function zodProblems(error: z.ZodError, prefix = ""): string[] {
  return error.issues.map((i) => {
    const path = `${prefix}${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`.replace(/^\./, "");
    return path ? `${path}: ${i.message}` : i.message;
  });
}

/** `value` checked against `schema`, or BAD_USER_INPUT listing every shape problem. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badInput(zodProblems(parsed.error, "input"));
  return parsed.data;
}

/** The update form of a create schema: every field optional (absent = keep). */
export function updateSchema<S extends z.ZodObject>(schema: S) {
  return schema.partial();
}
