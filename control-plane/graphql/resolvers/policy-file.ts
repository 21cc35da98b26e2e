import { MAX_POLICY_FILE_BYTES, parsePolicyDocument, PolicyDocumentError } from "../../policy-file/document.js";
import { applyPolicyDocument } from "../../policy-file/apply.js";
import { badInput } from "../../errors.js";
import { withCaller } from "../guard.js";
import { versionString } from "../map.js";

/**
 * `applyPolicyFile`: the declarative way to write policy (CLI `agentgate apply`). Applied
 * as a diff through the admin services, so it can do nothing the caller could not do
 * mutation by mutation.
 */
export const policyFileResolvers = {
  Mutation: {
    applyPolicyFile: withCaller(async (args: { yaml: string; dryRun?: boolean | null }, by, ctx) => {
      if (args.yaml.length > MAX_POLICY_FILE_BYTES) throw badInput([`the policy file exceeds ${MAX_POLICY_FILE_BYTES} bytes`]);
      let doc;
      try {
        doc = parsePolicyDocument(args.yaml);
      } catch (err) {
        if (err instanceof PolicyDocumentError) throw badInput(err.problems, "invalid policy file");
        throw err;
      }
      const result = await applyPolicyDocument(ctx.admin, by, doc, { dryRun: args.dryRun === true });
      return { changes: result.changes, snapshotVersion: versionString(result.version), dryRun: result.dryRun };
    }),
  },
};
