/**
 * The policy file (YAML, for `agentgate apply` and AGENTGATE_BOOTSTRAP_FILE) as one zod
 * schema. It checks the SHAPE only (known keys, types); what values mean — names, URLs,
 * patterns, ranges, references, who may grant what — is checked by the admin services the
 * file is applied through (apply.ts), exactly as for the GraphQL mutations.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { PSEUDONYM_SCOPES } from "../../data-plane/masking/pseudonym-scope.js";

const text = z.string();
const count = z.number();

const identityProvider = z.strictObject({
  issuer: text,
  jwksUri: text.nullish(),
  audiences: z.array(text).nullish(),
  groupsClaim: text.nullish(),
  allowedAlgorithms: z.array(text).nullish(),
  clockToleranceSeconds: count.nullish(),
  groupMapping: z.record(text, text).nullish(),
});

const binding = z
  .strictObject({ issuer: text, group: text.optional(), subject: text.optional() })
  .refine((b) => (b.group === undefined) !== (b.subject === undefined), { message: "each binding needs an issuer and exactly one of group or subject" });

const role = z.strictObject({ name: text, description: text.nullish(), bindings: z.array(binding).default([]) });

const connection = z.strictObject({
  name: text,
  baseUrl: text,
  credentialHeader: text.nullish(),
  /** Name of an environment variable holding the credential (never the credential itself). */
  credentialEnv: text.optional(),
  connectTimeoutMs: count.nullish(),
  headersTimeoutMs: count.nullish(),
  bodyTimeoutMs: count.nullish(),
});

const maskingRule = z.strictObject({ kind: text, match: text, style: text.nullish(), label: text.nullish() });
const maskingProfile = z.strictObject({ name: text, description: text.nullish(), rules: z.array(maskingRule) });

const limits = z.strictObject({
  requestsPerMinute: count.optional(),
  burst: count.optional(),
  concurrentRuns: count.optional(),
  costBudgetPerDay: count.optional(),
  maxBodyBytes: count.optional(),
  maxRecursionLimit: count.optional(),
  costPerRun: z.record(text, count).optional(),
  costPer1kTokens: count.optional(),
  maxCostPerRun: count.optional(),
});

const policy = z.strictObject({
  name: text,
  description: text.nullish(),
  role: text,
  connection: text,
  graphs: z.array(text),
  operations: z.array(text),
  maskingProfile: text.nullish(),
  maskRequests: z.boolean().nullish(),
  pseudonymScope: z.enum(PSEUDONYM_SCOPES).nullish(),
  limits: limits.nullish(),
  denylist: z.array(z.strictObject({ id: text.optional(), pattern: text, path: text.optional(), message: text.optional() })).nullish(),
  approval: z
    .strictObject({ required: z.boolean().optional(), approverRoles: z.array(text).optional(), grantTtlSeconds: count.optional(), grantUses: count.optional(), notifyUrl: text.optional() })
    .nullish(),
});

/** The whole file: every section optional; unknown keys anywhere are refused (a typo must not be ignored). */
export const policyDocumentSchema = z.strictObject({
  identityProviders: z.array(identityProvider).default([]),
  roles: z.array(role).default([]),
  connections: z.array(connection).default([]),
  maskingProfiles: z.array(maskingProfile).default([]),
  policies: z.array(policy).default([]),
});

/** A policy file after the shape check. */
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
/** A policy file as written (sections may be missing). */
export type PolicyDocumentInput = z.input<typeof policyDocumentSchema>;

/** A policy file that cannot be applied; `problems` lists all of them. */
export class PolicyDocumentError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid policy file:\n- ${problems.join("\n- ")}`);
    this.name = "PolicyDocumentError";
  }
}

/** Every zod issue as "path: message" (path like `policies[0].limits.burst`). */
export function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const path = i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
    return path ? `${path}: ${i.message}` : i.message;
  });
}

/** Checks the shape of a policy document given as data (the bench and tests build them in code). */
export function policyDocument(raw: unknown): PolicyDocument {
  const parsed = policyDocumentSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new PolicyDocumentError(zodProblems(parsed.error));
  return parsed.data;
}

/** Parses a policy file's YAML text and checks its shape. */
export function parsePolicyDocument(yamlText: string): PolicyDocument {
  let raw: unknown;
  try {
    // Aliases are capped: a "billion laughs" file must not expand into gigabytes.
    raw = parseYaml(yamlText, { maxAliasCount: 100 });
  } catch (e) {
    throw new PolicyDocumentError([`not valid YAML: ${(e as Error).message}`]);
  }
  if (raw !== null && (typeof raw !== "object" || Array.isArray(raw))) throw new PolicyDocumentError(["the file must be a YAML mapping"]);
  return policyDocument(raw);
}
