/**
 * Connections: registered LangGraph upstreams. The credential is encrypted with the
 * control plane's SecretBox before it is stored and is never returned: views and audit
 * rows only say whether one is set (and whether a write changed it). Policy-affecting:
 * connections (with the decrypted credential) travel in the snapshot to the proxies.
 */
import type { Principal } from "../auth/principal.js";
import { assertNoProblems, orNotFound } from "../errors.js";
import type { Db, Tx } from "../store/client.js";
import type { Connection } from "../store/types.js";
import { nameProblems, urlProblems } from "../validation.js";
import { commitChange, type Committed } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { assertNotUsedByPolicies, assertUnique } from "./guards.js";
import { pageArgs, toPage, type Page, type PageRequest } from "./page.js";
import { applyPatch, sameState, type Patch } from "./patch.js";

/** The configurable fields of a connection, credential excepted. */
export interface ConnectionFields {
  readonly name: string;
  readonly baseUrl: string;
  /** Header the proxy puts the credential in (lower case). */
  readonly credentialHeader: string;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

/** Input of create/update: the fields plus the write-only credential (null clears it). */
export type ConnectionInput = Patch<ConnectionFields> & { readonly credential?: string | null | undefined };

/** A connection as the API shows it: never the credential, only whether one is set. */
export interface ConnectionView extends ConnectionFields {
  readonly id: string;
  readonly kind: string;
  readonly credentialSet: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const DEFAULTS: ConnectionFields = {
  name: "",
  baseUrl: "",
  credentialHeader: "x-api-key",
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 300_000,
};

const MAX_TIMEOUT_MS = 3_600_000;
const MAX_CREDENTIAL_LENGTH = 4096;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
// Headers that frame or route the request: a credential there would break or smuggle it.
const RESERVED_HEADERS = new Set(["host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive", "proxy-authorization"]);

function view(row: Connection): ConnectionView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    baseUrl: row.baseUrl,
    credentialHeader: row.credentialHeader,
    credentialSet: row.credentialCiphertext !== null,
    connectTimeoutMs: row.connectTimeoutMs,
    headersTimeoutMs: row.headersTimeoutMs,
    bodyTimeoutMs: row.bodyTimeoutMs,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function problems(f: ConnectionFields, credential: string | null | undefined): string[] {
  const out = [...nameProblems("connection", f.name), ...urlProblems("connection", f.baseUrl)];
  if (!HEADER_NAME.test(f.credentialHeader) || RESERVED_HEADERS.has(f.credentialHeader)) out.push("connection: credentialHeader must be a header name (not a framing header)");
  for (const key of ["connectTimeoutMs", "headersTimeoutMs", "bodyTimeoutMs"] as const) {
    const v = f[key];
    if (!Number.isInteger(v) || v < 1 || v > MAX_TIMEOUT_MS) out.push(`connection: ${key} must be an integer from 1 to ${MAX_TIMEOUT_MS}`);
  }
  // The credential becomes a header value: no line breaks or other control characters.
  // eslint-disable-next-line no-control-regex
  if (typeof credential === "string" && (credential.length === 0 || credential.length > MAX_CREDENTIAL_LENGTH || /[\u0000-\u001f\u007f]/.test(credential))) {
    out.push(`connection: credential must be 1-${MAX_CREDENTIAL_LENGTH} characters without control characters`);
  }
  return out;
}

function normalized(f: ConnectionFields): ConnectionFields {
  return { ...f, credentialHeader: f.credentialHeader.toLowerCase() };
}

async function assertNameFree(tx: Tx, name: string, exceptId?: string): Promise<void> {
  assertUnique(await tx.connection.findUnique({ where: { name } }), exceptId, `a connection named ${JSON.stringify(name)}`);
}

/** The stored form of a credential input: undefined keeps, null clears, a string is sealed. */
function sealed(deps: AdminDeps, credential: string | null | undefined, current: string | null): string | null {
  if (credential === undefined) return current;
  return credential === null ? null : deps.secrets.encrypt(credential);
}

function fieldsOfRow(row: Connection): ConnectionFields {
  const { name, baseUrl, credentialHeader, connectTimeoutMs, headersTimeoutMs, bodyTimeoutMs } = row;
  return { name, baseUrl, credentialHeader, connectTimeoutMs, headersTimeoutMs, bodyTimeoutMs };
}

/** True when a credential input would store the credential already stored (compared decrypted). */
function sameCredential(deps: AdminDeps, credential: string | null | undefined, current: string | null): boolean {
  if (credential === null) return current === null;
  return typeof credential === "string" && current !== null && deps.secrets.decrypt(current) === credential;
}

function fieldsOnly(input: ConnectionInput): Patch<ConnectionFields> {
  const { credential: _credential, ...fields } = input;
  return fields;
}

/** Lists connections, oldest first. */
export async function listConnections(db: Db, page: PageRequest): Promise<Page<ConnectionView>> {
  const { idAfter, orderBy, take } = pageArgs(page);
  return toPage(await db.connection.findMany({ where: idAfter, orderBy, take }), page, view);
}

/** One connection by id, or null. */
export async function getConnection(db: Db, id: string): Promise<ConnectionView | null> {
  const row = await db.connection.findUnique({ where: { id } });
  return row && view(row);
}

/** Registers an upstream. */
export async function createConnection(deps: AdminDeps, by: Principal, input: ConnectionInput): Promise<Committed<ConnectionView>> {
  const fields = normalized(applyPatch(DEFAULTS, fieldsOnly(input), DEFAULTS));
  assertNoProblems(problems(fields, input.credential));
  return commitChange(deps, by.actor, "policy", async (tx) => {
    await assertNameFree(tx, fields.name);
    const row = await tx.connection.create({ data: { ...fields, kind: "langgraph", credentialCiphertext: sealed(deps, input.credential, null) } });
    return { value: view(row), audit: [{ action: "connection.create", target: `Connection:${row.id}`, after: view(row) }] };
  });
}

/** Changes a connection; `credential` replaces (string) or clears (null) the stored one. */
export async function updateConnection(deps: AdminDeps, by: Principal, id: string, input: ConnectionInput): Promise<Committed<ConnectionView>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.connection.findUnique({ where: { id } }), "connection");
    const current = fieldsOfRow(row);
    const fields = normalized(applyPatch<ConnectionFields>(current, fieldsOnly(input), DEFAULTS));
    assertNoProblems(problems(fields, input.credential));
    const credential = sameCredential(deps, input.credential, row.credentialCiphertext) ? undefined : input.credential;
    if (credential === undefined && sameState(current, fields)) return { value: view(row), audit: [] };
    await assertNameFree(tx, fields.name, id);
    const data = {
      name: fields.name,
      baseUrl: fields.baseUrl,
      credentialHeader: fields.credentialHeader,
      connectTimeoutMs: fields.connectTimeoutMs,
      headersTimeoutMs: fields.headersTimeoutMs,
      bodyTimeoutMs: fields.bodyTimeoutMs,
      credentialCiphertext: sealed(deps, credential, row.credentialCiphertext),
    };
    const updated = await tx.connection.update({ where: { id }, data });
    // Only the fact of a change is audited, never a credential or its ciphertext.
    const after = { ...view(updated), credentialChanged: credential !== undefined };
    return { value: view(updated), audit: [{ action: "connection.update", target: `Connection:${id}`, before: view(row), after }] };
  });
}

/** Deletes a connection; refused while a policy uses it. */
export async function deleteConnection(deps: AdminDeps, by: Principal, id: string): Promise<Committed<string>> {
  return commitChange(deps, by.actor, "policy", async (tx) => {
    const row = orNotFound(await tx.connection.findUnique({ where: { id }, include: { policies: { select: { name: true } } } }), "connection");
    assertNotUsedByPolicies(`connection ${row.name}`, row.policies);
    await tx.connection.delete({ where: { id } });
    return { value: id, audit: [{ action: "connection.delete", target: `Connection:${id}`, before: view(row) }] };
  });
}
