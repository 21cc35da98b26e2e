import { parsePolicyDocument, PolicyDocumentError } from "../../policy-file/document.js";
import { applyPolicyDocument } from "../../policy-file/apply.js";
import { badInput } from "../../errors.js";
import { guarded } from "../guard.js";
import { versionString } from "../map.js";

const MAX_POLICY_FILE = 1 << 20;

/** `applyPolicyFile`: the declarative way to write policy (CLI `agentgate apply`). */
export const policyFileResolvers = {
  Mutation: {
    applyPolicyFile: guarded("write", async (args: { yaml: string; dryRun?: boolean | null }, by, ctx) => {
      if (args.yaml.length > MAX_POLICY_FILE) throw badInput([`the policy file exceeds ${MAX_POLICY_FILE} bytes`]);
      const [roles, connections, profiles] = await Promise.all([
        ctx.db.role.findMany({ select: { name: true } }),
        ctx.db.connection.findMany({ select: { name: true } }),
        ctx.db.maskingProfile.findMany({ select: { name: true } }),
      ]);
      let doc;
      try {
        doc = parsePolicyDocument(args.yaml, {
          roles: new Set(roles.map((r) => r.name)),
          connections: new Set(connections.map((c) => c.name)),
          profiles: new Set(profiles.map((p) => p.name)),
        });
      } catch (err) {
        if (err instanceof PolicyDocumentError) throw badInput(err.problems);
        throw err;
      }
      const result = await applyPolicyDocument(ctx.db, ctx.admin.secrets, doc, { actor: by.actor, dryRun: args.dryRun === true });
      if (!result.dryRun && result.changes.some((c) => c.action !== "unchanged")) await ctx.admin.refreshSnapshot();
      return { changes: result.changes, snapshotVersion: versionString(result.version), dryRun: result.dryRun };
    }),
  },
};
