/**
 * A real, minimal OIDC identity provider for tests: node:http on 127.0.0.1 port 0 serving a
 * discovery document and a JWKS made by jose, counting every hit, plus helpers to sign good and
 * deliberately broken tokens. Test support only; never imported by production code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

/** A signing key pair of the test IdP. */
export interface TestKey {
  readonly kid: string;
  readonly alg: "RS256" | "ES256";
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** Public JWK as served in the JWKS (with kid, alg, use). */
  readonly publicJwk: JWK;
}

/** Makes a key pair with jose. */
export async function makeTestKey(alg: "RS256" | "ES256", kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

/** base64url of a JSON value or raw bytes. */
export function b64url(value: unknown): string {
  const bytes = value instanceof Uint8Array ? value : Buffer.from(JSON.stringify(value), "utf8");
  return Buffer.from(bytes).toString("base64url");
}

const SIGN_PARAMS = {
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  ES256: { name: "ECDSA", hash: "SHA-256" },
} as const;

/**
 * Signs arbitrary header and payload objects with WebCrypto, bypassing jose's checks — for tokens
 * jose would refuse to produce (e.g. with `crit`). ECDSA signatures are raw r||s, as JWS wants.
 */
export async function signRaw(header: Record<string, unknown>, payload: unknown, key: TestKey): Promise<string> {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const sig = await crypto.subtle.sign(SIGN_PARAMS[key.alg], key.privateKey, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/** Claims for `sign`: defaults are filled in; a value of `undefined` removes that claim. */
export type TestClaims = Record<string, unknown>;

/** Handles a request to the JWKS or discovery endpoint instead of the default answer. */
export type TestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A running test IdP. */
export interface TestIdp {
  /** `http://127.0.0.1:<port><path>`. */
  readonly issuer: string;
  /** `<issuer>/jwks`. */
  readonly jwksUri: string;
  /** Requests served so far, by endpoint. */
  readonly hits: { discovery: number; jwks: number };
  /** Keys currently published (the first one signs by default). */
  keys: TestKey[];
  /** Replaces the JWKS answer (e.g. 500, huge body, slow); undefined restores the default. */
  jwksHandler: TestHandler | undefined;
  /** Replaces the discovery answer; undefined restores the default. */
  discoveryHandler: TestHandler | undefined;
  /** Signs a token: defaults iss, sub "alice", aud "agentgate", iat now, exp now+300. */
  sign(claims?: TestClaims, options?: { key?: TestKey; header?: Record<string, unknown> }): Promise<string>;
  /** The default claims merged with `claims` (undefined values removed). */
  claims(claims?: TestClaims): Record<string, unknown>;
  close(): Promise<void>;
}

/** Options of `startTestIdp`. */
export interface TestIdpOptions {
  /** Issuer path, e.g. "/realms/demo". Default "". */
  path?: string;
  /** Published keys. Default: RS256 "rs-1" and ES256 "es-1". */
  keys?: TestKey[];
  /** Audience of signed tokens. Default "agentgate". */
  audience?: string;
  /** Clock in ms used for iat/exp defaults. Default Date.now. */
  now?: () => number;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Starts a test IdP on 127.0.0.1, port 0. */
export async function startTestIdp(options: TestIdpOptions = {}): Promise<TestIdp> {
  const path = options.path ?? "";
  const now = options.now ?? Date.now;
  const keys = options.keys ?? [await makeTestKey("RS256", "rs-1"), await makeTestKey("ES256", "es-1")];
  const hits = { discovery: 0, jwks: 0 };
  let issuer = "";
  const server: Server = createServer((req, res) => {
    if (req.url === `${path}/.well-known/openid-configuration`) {
      hits.discovery++;
      if (idp.discoveryHandler) return idp.discoveryHandler(req, res);
      return sendJson(res, 200, { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ["RS256", "ES256"] });
    }
    if (req.url === `${path}/jwks`) {
      hits.jwks++;
      if (idp.jwksHandler) return idp.jwksHandler(req, res);
      return sendJson(res, 200, { keys: idp.keys.map((k) => k.publicJwk) });
    }
    sendJson(res, 404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

  const claims = (extra: TestClaims = {}): Record<string, unknown> => {
    const t = Math.floor(now() / 1000);
    const merged: Record<string, unknown> = { iss: issuer, sub: "alice", aud: options.audience ?? "agentgate", iat: t, exp: t + 300, ...extra };
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    return merged;
  };

  const idp: TestIdp = {
    issuer,
    jwksUri: `${issuer}/jwks`,
    hits,
    keys,
    jwksHandler: undefined,
    discoveryHandler: undefined,
    claims,
    async sign(extra, signOptions = {}) {
      const key = signOptions.key ?? idp.keys[0]!;
      return new SignJWT(claims(extra))
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...signOptions.header })
        .sign(key.privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return idp;
}
