import type { Principal } from "../../auth/principal.js";
import { withCaller } from "../guard.js";

/** `viewer`: who is calling (any authenticated caller) and the scopes enum's stored values. */
export const viewerResolvers = {
  // Enum values map to the scopes' stored spelling.
  Scope: { READ: "read", WRITE: "write", AUDIT: "audit", APPROVE: "approve" },
  Query: {
    viewer: withCaller((_args: unknown, by: Principal) => ({ actor: by.actor, scopes: [...by.scopes] })),
  },
};
