/** What the admin domain services need from the control plane. */
import type { HttpAllowance } from "../../data-plane/identity/index.js";
import type { SecretBox } from "../secrets.js";
import type { Db } from "../store/client.js";

/** Dependencies of every admin service function (passed first, so tests can build them). */
export interface AdminDeps {
  readonly db: Db;
  /** Encrypts connection credentials at rest. */
  readonly secrets: SecretBox;
  /** Publishes the stored snapshot version to proxies; called after a committed policy-affecting write. */
  readonly refreshSnapshot: () => Promise<void>;
  /** Plain-http issuer/JWKS URLs accepted for identity providers (dev: "loopback"). */
  readonly allowHttpIssuers: HttpAllowance;
}
