/**
 * A development OpenID Connect issuer: real HTTP discovery and JWKS, tokens
 * signed with keys generated at start (kept in memory, or in `keysFile` so tokens
 * survive a restart: the `npm start` demo), for e2e tests and the demo.
 *
 * Routes:
 * - `GET /.well-known/openid-configuration`: discovery document.
 * - `GET /jwks`: public keys (one RS256 and one ES256 per key generation).
 * - `POST /token`: DEV ONLY, unauthenticated token minting so a demo user can
 *   get a token with curl (form or JSON fields `sub`, `groups` as a comma
 *   list, optional `email`, `aud`, `alg`, `expires_in` seconds):
 *   `curl -s -d sub=alice -d groups=admins,devs http://127.0.0.1:PORT/token`.
 *
 * Run standalone: `npx tsx demo/issuer.ts [port]`.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from "jose";

/** Algorithms the issuer signs with. */
export type IssuerAlg = "RS256" | "ES256";

/** Options of {@link startIssuer}. */
export interface IssuerOptions {
  /** Port; default 0 (free port). */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Default `aud` of minted tokens; default "agentgate". */
  audience?: string;
  /** Serve the unauthenticated `POST /token` (default true; dev only). */
  tokenEndpoint?: boolean;
  /**
   * Private signing keys are read from this JSON file, or generated and written there
   * (mode 0600), so tokens stay valid across restarts. Default: in memory only.
   */
  keysFile?: string;
}

/** What to put in a minted token. */
export interface MintOptions {
  sub: string;
  email?: string;
  groups?: string[];
  /** Audience; default the issuer's audience. */
  aud?: string | string[];
  /** Lifetime: seconds, or a jose time span ("1h", "-5m" for an expired token). Default 1 h. */
  expiresIn?: number | string;
  /** Signing algorithm (current key of that type); default RS256. */
  alg?: IssuerAlg;
  /**
   * Extra claims; a registered claim given here (`iss`, `sub`, `aud`, `exp`,
   * `iat`, `jti`) replaces the default, e.g. `{ iss: "https://evil" }`.
   * Set one to `undefined` to leave it out of the token.
   */
  claims?: Record<string, unknown>;
  /** Header `typ`; default "JWT" (e.g. "logout+jwt" to test type confusion). */
  typ?: string;
}

/** Options of {@link Issuer.rotate}. */
export interface RotateOptions {
  /** Also drop the previous generation from the JWKS (its tokens stop verifying). */
  dropPrevious?: boolean;
}

/** Request counters, e.g. to prove a gateway caches the JWKS. */
export interface IssuerStats {
  discovery: number;
  jwks: number;
  token: number;
}

/** A running dev issuer. */
export interface Issuer {
  /** Issuer identifier (`iss`), also the base URL, e.g. `http://127.0.0.1:40001`. */
  url: string;
  /** `${url}/.well-known/openid-configuration`. */
  discoveryUrl: string;
  /** `${url}/jwks`. */
  jwksUri: string;
  /** `${url}/token` (404 and absent from discovery when `tokenEndpoint: false`). */
  tokenEndpoint: string;
  /** Default audience of minted tokens. */
  audience: string;
  /** Key ids currently used for signing, by algorithm. */
  readonly currentKids: Readonly<Record<IssuerAlg, string>>;
  /** Live request counters. */
  readonly stats: IssuerStats;
  /** Sign a token with the current key of `alg`. */
  mint(options: MintOptions): Promise<string>;
  /**
   * Start a new key generation and sign with it from now on. The previous
   * generation stays in the JWKS (tokens already issued keep verifying) until
   * the next rotation, or is dropped at once with `dropPrevious`.
   */
  rotate(options?: RotateOptions): Promise<Readonly<Record<IssuerAlg, string>>>;
  /** The JWKS as served. */
  jwks(): { keys: JWK[] };
  /** Close the server. Idempotent. */
  stop(): Promise<void>;
}

interface SigningKey {
  kid: string;
  alg: IssuerAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

type KeyGeneration = Record<IssuerAlg, SigningKey>;

const ALGS: readonly IssuerAlg[] = ["RS256", "ES256"];
const DEFAULT_AUDIENCE = "agentgate";
const DEFAULT_LIFETIME_S = 3600;
const MAX_BODY_BYTES = 16 * 1024;

async function signingKey(alg: IssuerAlg, privateKey: CryptoKey, publicKey: CryptoKey): Promise<SigningKey> {
  const jwk = await exportJWK(publicKey);
  // RFC 7638 thumbprint: a stable, unique kid without bookkeeping.
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, alg, privateKey, publicJwk: { ...jwk, kid, alg, use: "sig" } };
}

async function makeKey(alg: IssuerAlg, extractable: boolean): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable });
  return signingKey(alg, privateKey, publicKey);
}

async function makeGeneration(extractable = false): Promise<KeyGeneration> {
  const [rs, es] = await Promise.all(ALGS.map((alg) => makeKey(alg, extractable)));
  return { RS256: rs!, ES256: es! };
}

/** Public part of a private JWK (the members RFC 7518 marks private removed). */
function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

/** The key generation stored in `file`, or a new one written there (owner-only). */
async function persistentGeneration(file: string): Promise<KeyGeneration> {
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, "utf8")) as Record<IssuerAlg, JWK>;
    const keys = await Promise.all(
      ALGS.map(async (alg) => signingKey(alg, (await importJWK(stored[alg], alg)) as CryptoKey, (await importJWK(publicPart(stored[alg]), alg)) as CryptoKey)),
    );
    return { RS256: keys[0]!, ES256: keys[1]! };
  }
  const generation = await makeGeneration(true);
  const stored = Object.fromEntries(await Promise.all(ALGS.map(async (alg) => [alg, await exportJWK(generation[alg].privateKey)])));
  writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
  return generation;
}

function expiry(expiresIn: number | string | undefined): number | string {
  if (expiresIn === undefined) return `${DEFAULT_LIFETIME_S}s`;
  // jose reads a number as an absolute timestamp; ours is a lifetime.
  return typeof expiresIn === "number" ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn;
}

/** Start a dev issuer on 127.0.0.1 (free port unless `port` is given). */
export async function startIssuer(options: IssuerOptions = {}): Promise<Issuer> {
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const host = options.host ?? "127.0.0.1";
  const serveTokens = options.tokenEndpoint !== false;
  // Newest generation first; at most two are served.
  let generations: KeyGeneration[] = [options.keysFile ? await persistentGeneration(options.keysFile) : await makeGeneration()];
  const stats: IssuerStats = { discovery: 0, jwks: 0, token: 0 };
  let url = "";
  const currentKids = () => ({ RS256: generations[0]!.RS256.kid, ES256: generations[0]!.ES256.kid });

  const jwks = () => ({ keys: generations.flatMap((g) => ALGS.map((alg) => g[alg].publicJwk)) });

  const mint = async (m: MintOptions): Promise<string> => {
    const key = generations[0]![m.alg ?? "RS256"];
    // Registered claims get defaults unless `claims` sets them (tests need
    // tokens with a foreign `iss`, a past `nbf`, a missing `exp`...).
    const claims = m.claims ?? {};
    const has = (name: string) => Object.hasOwn(claims, name);
    let jwt = new SignJWT({
      ...(m.email === undefined ? {} : { email: m.email }),
      ...(m.groups === undefined ? {} : { groups: m.groups }),
      ...claims,
    }).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: m.typ ?? "JWT" });
    if (!has("iss")) jwt = jwt.setIssuer(url);
    if (!has("sub")) jwt = jwt.setSubject(m.sub);
    if (!has("aud")) jwt = jwt.setAudience(m.aud ?? audience);
    if (!has("iat")) jwt = jwt.setIssuedAt();
    if (!has("jti")) jwt = jwt.setJti(randomUUID());
    if (!has("exp")) jwt = jwt.setExpirationTime(expiry(m.expiresIn));
    return jwt.sign(key.privateKey);
  };

  const discovery = () => ({
    issuer: url,
    jwks_uri: `${url}/jwks`,
    ...(serveTokens
      ? {
          token_endpoint: `${url}/token`,
          grant_types_supported: ["client_credentials"],
          token_endpoint_auth_methods_supported: ["none"],
        }
      : {}),
    id_token_signing_alg_values_supported: [...ALGS],
    response_types_supported: ["token", "id_token"],
    subject_types_supported: ["public"],
    claims_supported: ["iss", "sub", "aud", "exp", "iat", "jti", "email", "groups"],
  });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      sendJson(res, 500, { error: "server_error", error_description: String(error) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://issuer").pathname;
    if (req.method === "GET" && path === "/.well-known/openid-configuration") {
      stats.discovery++;
      return sendJson(res, 200, discovery(), "public, max-age=300");
    }
    if (req.method === "GET" && path === "/jwks") {
      stats.jwks++;
      return sendJson(res, 200, jwks(), "public, max-age=300");
    }
    if (req.method === "POST" && path === "/token" && serveTokens) {
      stats.token++;
      return issueToken(req, res);
    }
    sendJson(res, 404, { error: "not_found" });
  }

  async function issueToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fields = await readFields(req);
    if (fields === undefined) return sendJson(res, 400, { error: "invalid_request", error_description: "unreadable body" });
    const sub = fields.get("sub")?.trim();
    if (!sub) return sendJson(res, 400, { error: "invalid_request", error_description: "sub is required" });
    const alg = fields.get("alg") ?? "RS256";
    if (alg !== "RS256" && alg !== "ES256") {
      return sendJson(res, 400, { error: "invalid_request", error_description: "alg must be RS256 or ES256" });
    }
    const lifetime = Number(fields.get("expires_in") ?? DEFAULT_LIFETIME_S);
    if (!Number.isFinite(lifetime) || lifetime <= 0 || lifetime > 24 * 3600) {
      return sendJson(res, 400, { error: "invalid_request", error_description: "expires_in must be 1..86400" });
    }
    const groups = (fields.get("groups") ?? "").split(",").map((g) => g.trim()).filter(Boolean);
    const email = fields.get("email");
    const token = await mint({
      sub,
      groups,
      alg,
      expiresIn: lifetime,
      ...(email ? { email } : {}),
      ...(fields.get("aud") ? { aud: fields.get("aud")! } : {}),
    });
    sendJson(res, 200, { access_token: token, id_token: token, token_type: "Bearer", expires_in: lifetime }, "no-store");
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  let stopped: Promise<void> | undefined;
  return {
    url,
    discoveryUrl: `${url}/.well-known/openid-configuration`,
    jwksUri: `${url}/jwks`,
    tokenEndpoint: `${url}/token`,
    audience,
    get currentKids() {
      return currentKids();
    },
    stats,
    mint,
    async rotate(rotateOptions = {}) {
      const next = await makeGeneration();
      generations = rotateOptions.dropPrevious ? [next] : [next, generations[0]!];
      return currentKids();
    },
    jwks,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, cacheControl = "no-store"): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": cacheControl,
  });
  res.end(text);
}

/** Read a form-urlencoded or JSON body into string fields; undefined if unreadable or too big. */
async function readFields(req: IncomingMessage): Promise<Map<string, string> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf-8");
  if ((req.headers["content-type"] ?? "").includes("application/json")) {
    try {
      const parsed: unknown = JSON.parse(text || "{}");
      if (typeof parsed !== "object" || parsed === null) return undefined;
      const fields = new Map<string, string>();
      for (const [key, value] of Object.entries(parsed)) {
        // Accept `groups` as a JSON array too.
        fields.set(key, Array.isArray(value) ? value.join(",") : String(value));
      }
      return fields;
    } catch {
      return undefined;
    }
  }
  return new Map(new URLSearchParams(text));
}

// Standalone: `npx tsx demo/issuer.ts [port]` prints where it listens.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const issuer = await startIssuer({ port: Number(process.argv[2] ?? 0) });
  console.log(`dev issuer at ${issuer.url} (audience "${issuer.audience}")`);
  console.log(`get a token: curl -s -d sub=alice -d groups=admins ${issuer.tokenEndpoint}`);
  const shutdown = () => void issuer.stop().then(() => process.exit(0));
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}
