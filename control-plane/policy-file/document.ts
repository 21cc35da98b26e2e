/**
 * The policy file (YAML, for `agentgate apply` and AGENTGATE_BOOTSTRAP_FILE) as one zod
 * schema, composed of the admin input schemas the GraphQL mutations use too
 * (admin/input-schemas.ts). It checks the SHAPE only (known keys, types); what values mean — names, URLs,
 * patterns, ranges, references, who may grant what — is checked by the admin services the
 * file is applied through (apply.ts), exactly as for the GraphQL mutations.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { connectionInputSchema, identityProviderInputSchema, maskingProfileInputSchema, policyInputSchema, roleInputSchema, zodProblems } from "../admin/input-schemas.js";

export { zodProblems };

const text = z.string();

const binding = z
  .strictObject({ issuer: text, group: text.optional(), subject: text.optional() })
  .refine((b) => (b.group === undefined) !== (b.subject === undefined), { message: "each binding needs an issuer and exactly one of group or subject" });

// Each section is the shared admin input schema (the GraphQL mutations parse theirs with the
// same ones), plus what only a file has: a role's bindings, a connection's credential by reference.
const role = roleInputSchema.extend({ bindings: z.array(binding).default([]) });
const connection = connectionInputSchema.extend({
  /** Name of an environment variable holding the credential (never the credential itself). */
  credentialEnv: text.optional(),
});

/** The whole file: every section optional; unknown keys anywhere are refused (a typo must not be ignored). */
export const policyDocumentSchema = z.strictObject({
  identityProviders: z.array(identityProviderInputSchema).default([]),
  roles: z.array(role).default([]),
  connections: z.array(connection).default([]),
  maskingProfiles: z.array(maskingProfileInputSchema).default([]),
  policies: z.array(policyInputSchema).default([]),
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
