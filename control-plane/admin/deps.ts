/** What the admin domain services need from the control plane. */
import type { LocalChange } from "../snapshot/change-hints.js";
import type { HttpAllowance } from "../../common/identity/index.js";
import type { SecretBox } from "../secrets.js";
import type { Db, Tx } from "../store/client.js";
import type { AuditEntry } from "./change-log.js";

/**
 * An open multi-write transaction (a policy file): services called with deps carrying a
 * batch write into its transaction and hand their audit rows to it instead of committing.
 */
export interface Batch {
  readonly tx: Tx;
  readonly audits: AuditEntry[];
}

/** Dependencies of every admin service function (passed first, so tests can build them). */
export interface AdminDeps {
  readonly db: Db;
  /** Encrypts connection credentials at rest. */
  readonly secrets: SecretBox;
  /** Publishes the stored snapshot version to proxies; called after a committed policy-affecting write. */
  readonly refreshSnapshot: (change?: LocalChange) => Promise<void>;
  /** Plain-http issuer/JWKS URLs accepted for identity providers (dev: "loopback"). */
  readonly allowHttpIssuers: HttpAllowance;
  /**
   * Names of environment variables a policy file's `credentialEnv` may read besides
   * AGENTGATE_UPSTREAM_* (AGENTGATE_CREDENTIAL_ENV_ALLOW); default none.
   */
  readonly credentialEnvAllow?: readonly string[];
  /** A request still pending this long expires (AGENTGATE_APPROVAL_REQUEST_TTL_SECONDS; default 24 h). */
  readonly approvalRequestTtlSeconds?: number;
  /** Set inside {@link commitBatch}: writes join that transaction. */
  readonly batch?: Batch;
}
