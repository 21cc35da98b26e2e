/**
 * OIDC admin authentication: verifies a bearer token with the shared verifier
 * (common/identity) against the IdentityProviders stored in the database, and maps the
 * identity to control-plane scopes through ordinary role bindings to the reserved roles.
 *
 * Everything it needs (providers, reserved-role bindings, suspended identities) is loaded
 * in one transaction together with the snapshot version, and kept until that version moves:
 * every write that could change the answer bumps it. Each request costs one read of the
 * version row; the verifier (with its JWKS and verified-token caches) is rebuilt only when
 * the providers themselves changed.
 */
import { log } from "../../common/observability/log.js";
import {
  createVerifier,
  validateIdentityProviders,
  type HttpAllowance,
  type IdentityProviderConfig,
  type Verifier,
  type VerifierOptions,
} from "../../common/identity/index.js";
import { loadIdentityProviders, providerConfig } from "../admin/identity-providers.js";
import type { Db } from "../store/client.js";
import { authDenied, oidcActor, principal, type AuthResult } from "./principal.js";
import { CONTROL_PLANE_ROLES, scopesOfRoles } from "./scopes.js";

/** Options of {@link createOidcDirectory}. */
export interface OidcDirectoryOptions {
  readonly db: Db;
  /** Plain-http issuers (dev and tests: "loopback"). Default "never". */
  readonly allowHttp?: HttpAllowance;
  /** Extra verifier options (tests: clock, cache). */
  readonly verifier?: Omit<VerifierOptions, "allowHttp">;
}

/** Verifies OIDC tokens of admins. */
export interface OidcDirectory {
  /** Authenticates one token; failures are values. */
  authenticate(token: string): Promise<AuthResult>;
}

interface Loaded {
  readonly version: bigint;
  readonly providersKey: string;
  readonly verifier: Verifier;
  /** `issuer \n group` → reserved roles. */
  readonly groupRoles: ReadonlyMap<string, readonly string[]>;
  /** `issuer \n subject` → reserved roles. */
  readonly subjectRoles: ReadonlyMap<string, readonly string[]>;
  /** `issuer \n subject` of suspended identities. */
  readonly suspended: ReadonlySet<string>;
}

// A newline cannot occur in an issuer URL, so the pair cannot be forged by a crafted value.
const key = (issuer: string, value: string): string => `${issuer}\n${value}`;

function push(map: Map<string, string[]>, k: string, role: string): void {
  const list = map.get(k);
  if (list) list.push(role);
  else map.set(k, [role]);
}

/**
 * Only providers the verifier accepts are used: one bad row (say an http issuer while this
 * control plane allows only https) must not lock every admin out.
 */
function usableProviders(configs: IdentityProviderConfig[], allowHttp: HttpAllowance): IdentityProviderConfig[] {
  return configs.filter((c) => {
    const result = validateIdentityProviders([c], { allowHttp });
    if (!result.ok) log.warn("identity provider unusable for admin authentication", { issuer: c.issuer, problems: result.problems });
    return result.ok;
  });
}

/** Creates the directory; nothing is loaded before the first token. */
export function createOidcDirectory(opts: OidcDirectoryOptions): OidcDirectory {
  const allowHttp = opts.allowHttp ?? "never";
  let loaded: Loaded | undefined;
  let loading: Promise<Loaded> | undefined;

  async function load(): Promise<Loaded> {
    const reserved = Object.keys(CONTROL_PLANE_ROLES);
    const rows = await opts.db.$transaction(async (tx) => ({
      version: (await tx.snapshotVersion.findUnique({ where: { id: 1 } }))?.version ?? 0n,
      providers: await loadIdentityProviders(tx),
      bindings: await tx.roleBinding.findMany({ where: { role: { name: { in: reserved } } }, include: { role: true, identity: true } }),
      suspended: await tx.identity.findMany({ where: { status: "suspended" }, select: { issuer: true, subject: true } }),
    }));
    const configs = usableProviders(rows.providers.map((p) => providerConfig(p.id, p)), allowHttp);
    const providersKey = JSON.stringify(configs);
    // Keep the warm verifier (JWKS, verified tokens) while the providers are unchanged.
    const verifier = loaded?.providersKey === providersKey ? loaded.verifier : createVerifier(configs, { ...opts.verifier, allowHttp });
    const groupRoles = new Map<string, string[]>();
    const subjectRoles = new Map<string, string[]>();
    for (const b of rows.bindings) {
      if (b.identity) push(subjectRoles, key(b.identity.issuer, b.identity.subject), b.role.name);
      else if (b.issuer !== null && b.group !== null) push(groupRoles, key(b.issuer, b.group), b.role.name);
    }
    return { version: rows.version, providersKey, verifier, groupRoles, subjectRoles, suspended: new Set(rows.suspended.map((s) => key(s.issuer, s.subject))) };
  }

  async function current(): Promise<Loaded> {
    const version = (await opts.db.snapshotVersion.findUnique({ where: { id: 1 } }))?.version ?? 0n;
    let fresh = loaded;
    while (fresh === undefined || fresh.version !== version) {
      // Concurrent requests share one reload. One that started before `version` was written
      // may return older data: then load again, never answer from a state older than seen.
      loading ??= load().finally(() => (loading = undefined));
      fresh = await loading;
      if (fresh.version >= version) break;
    }
    loaded = fresh;
    return fresh;
  }

  return {
    async authenticate(token) {
      const dir = await current();
      const result = await dir.verifier.verify(token);
      // Verifier messages are fixed strings that never echo the token or its claims.
      if (!result.ok) return authDenied("UNAUTHENTICATED", result.message);
      const { issuer, subject, groups } = result.identity;
      if (dir.suspended.has(key(issuer, subject))) return authDenied("FORBIDDEN", "identity suspended");
      const roles = [...(dir.subjectRoles.get(key(issuer, subject)) ?? []), ...groups.flatMap((g) => dir.groupRoles.get(key(issuer, g)) ?? [])];
      return { ok: true, principal: principal("oidc", oidcActor(issuer, subject), scopesOfRoles(roles), { issuer, subject, groups }) };
    },
  };
}
