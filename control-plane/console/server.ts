/**
 * The web console, served by the control plane under /console: OIDC sign-in (openid-client,
 * authorization code + PKCE), a server-side session behind an HttpOnly, SameSite=Lax cookie
 * (Secure outside loopback), logout, and static pages that call the same /graphql API.
 *
 * The pages never hold a token: a /graphql request that carries the session cookie (and no
 * Authorization header of its own) gets the session's access token put in its place, so the
 * API authenticates and authorizes it exactly like any other caller. Such a request must
 * also carry the session's CSRF token in a header, which a cross-site page cannot set.
 */
import { timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as oidc from "openid-client";
import { log } from "../../common/observability/log.js";
import type { ConsoleConfig } from "./config.js";
import { isLoopbackHost } from "./loopback.js";
import { ExpiringStore, newId, type ConsoleSession, type PendingLogin } from "./sessions.js";

/** Header the pages send their CSRF token in. */
export const CSRF_HEADER = "x-agentgate-csrf";
const SESSION_MAX_MS = 8 * 3600_000;
const LOGIN_MAX_MS = 10 * 60_000;

/**
 * The pages are a Vite bundle (web/, built into build/ by web/build.mjs: `npm run build`,
 * `npm start`). Only the files its manifest names are served: a request path is looked up
 * in that list and never reaches the file system itself.
 */
const BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), "build");
const TYPES: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png", ".woff2": "font/woff2" };

interface Bundle {
  readonly index: Buffer;
  /** "/console/assets/index-abc123.js" → its bytes and content type. */
  readonly assets: ReadonlyMap<string, { readonly body: Buffer; readonly type: string }>;
}

interface ManifestChunk {
  file: string;
  css?: string[];
  assets?: string[];
}

/** Reads the built bundle: index.html and every file the Vite manifest lists (and nothing else). */
export function loadBundle(dir = BUILD_DIR): Bundle | undefined {
  const manifestFile = join(dir, ".vite", "manifest.json");
  if (!existsSync(manifestFile) || !existsSync(join(dir, "index.html"))) return undefined;
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Record<string, ManifestChunk>;
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const chunk of Object.values(manifest)) {
    for (const file of [chunk.file, ...(chunk.css ?? []), ...(chunk.assets ?? [])]) {
      const type = TYPES[extname(file)];
      // Names from our own build, but still: only plain relative names under assets/.
      if (!type || !/^assets\/[\w.-]+$/.test(file)) continue;
      assets.set(`/console/${file}`, { body: readFileSync(join(dir, file)), type });
    }
  }
  return { index: readFileSync(join(dir, "index.html")), assets };
}

const SECURITY_HEADERS: Record<string, string> = {
  // No inline script or style, nothing from another origin.
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** What the /graphql route should do with a request, as far as the console is concerned. */
export type GraphqlGate = { readonly kind: "pass" } | { readonly kind: "deny"; readonly message: string };

export interface ConsoleServer {
  /** Serves /console and everything under it. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** For /graphql: swaps a console session cookie for its bearer token (after the CSRF check). */
  gateGraphql(req: IncomingMessage): GraphqlGate;
}

function cookies(req: IncomingMessage): Map<string, string> {
  const jar = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) jar.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return jar;
}

function sameSecret(a: string | undefined, b: string): boolean {
  if (typeof a !== "string") return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A console path (with its query) to return to after sign-in; anything else (another
 * origin, `//evil`, `/\\evil`, a path outside /console) becomes the start page.
 */
export function safeReturnPath(raw: string | null): string {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) return "/console/";
  const origin = "http://console.invalid";
  let url: URL;
  try {
    url = new URL(raw, origin);
  } catch {
    return "/console/";
  }
  const inside = url.origin === origin && (url.pathname === "/console" || url.pathname.startsWith("/console/"));
  return inside ? `${url.pathname}${url.search}` : "/console/";
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-store", ...extra });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string | string[]> = {}) =>
  send(res, status, "application/json", JSON.stringify(body), extra);

/** Creates the console. `listenUrl` is the control plane's own URL, the default public URL. */
export function createConsoleServer(config: ConsoleConfig | undefined, listenUrl: () => string): ConsoleServer {
  const sessions = new ExpiringStore<ConsoleSession>(10_000);
  const logins = new ExpiringStore<PendingLogin>(10_000);
  const base = () => config?.publicUrl ?? listenUrl();
  // Secure cookies everywhere but on loopback (http://127.0.0.1 in development).
  const secure = () => !isLoopbackHost(new URL(base()).hostname) || base().startsWith("https:");
  const sessionCookie = () => (secure() ? "__Host-agentgate_console" : "agentgate_console");
  const cookieAttrs = (maxAgeS: number, path = "/") => `; Path=${path}; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${secure() ? "; Secure" : ""}`;
  // Read once (on first use, so a bundle built after start-up is found); assets are immutable.
  let bundle: Bundle | undefined;
  const pages = () => (bundle ??= loadBundle());

  let discovered: Promise<oidc.Configuration> | undefined;
  const provider = (): Promise<oidc.Configuration> => {
    if (!config) throw new Error("console sign-in is not configured");
    discovered ??= oidc
      .discovery(new URL(config.issuer), config.clientId, undefined, oidc.None(), config.allowHttpIssuer ? { execute: [oidc.allowInsecureRequests] } : undefined)
      .catch((err: unknown) => {
        discovered = undefined; // try again on the next sign-in
        throw err;
      });
    return discovered;
  };

  const sessionOf = (req: IncomingMessage): { id: string; session: ConsoleSession } | undefined => {
    const id = cookies(req).get(sessionCookie());
    const session = sessions.get(id);
    return session && id ? { id, session } : undefined;
  };

  async function login(res: ServerResponse, url: URL): Promise<void> {
    const configuration = await provider();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const pending: PendingLogin = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier,
      returnTo: safeReturnPath(url.searchParams.get("return")),
      expiresAt: Date.now() + LOGIN_MAX_MS,
    };
    const loginId = logins.put(pending);
    const target = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: `${base()}/console/callback`,
      scope: "openid email groups",
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state: pending.state,
      nonce: pending.nonce,
      ...(config?.resource ? { resource: config.resource } : {}),
    });
    send(res, 302, "text/plain", "", { location: target.href, "set-cookie": `agentgate_login=${loginId}${cookieAttrs(LOGIN_MAX_MS / 1000, "/console/callback")}` });
  }

  async function callback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const pending = logins.take(cookies(req).get("agentgate_login"));
    const clearLogin = `agentgate_login=${cookieAttrs(0, "/console/callback")}`;
    if (!pending) return send(res, 400, "text/plain; charset=utf-8", "This sign-in expired or was already used. Start again at /console/.", { "set-cookie": clearLogin });
    const configuration = await provider();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(
        configuration,
        new URL(`${url.pathname}${url.search}`, base()),
        { pkceCodeVerifier: pending.codeVerifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true },
        config?.resource ? { resource: config.resource } : undefined,
      );
    } catch (err) {
      // The reason (state mismatch, denied consent…) goes to the log, not to the page.
      log.warn("console sign-in failed", { error: (err as Error).message });
      return send(res, 400, "text/plain; charset=utf-8", "Sign-in failed. Start again at /console/.", { "set-cookie": clearLogin });
    }
    const claims = tokens.claims();
    const lifetimeMs = Math.min(SESSION_MAX_MS, (tokens.expires_in ?? 3600) * 1000);
    const sessionId = sessions.put({
      accessToken: tokens.access_token,
      idToken: tokens.id_token,
      user: { sub: String(claims?.sub ?? ""), email: typeof claims?.["email"] === "string" ? claims["email"] : undefined },
      csrf: newId(),
      expiresAt: Date.now() + lifetimeMs,
    });
    send(res, 303, "text/plain", "", {
      location: pending.returnTo,
      "set-cookie": [`${sessionCookie()}=${sessionId}${cookieAttrs(Math.floor(lifetimeMs / 1000))}`, clearLogin],
    });
  }

  async function logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const current = sessionOf(req);
    if (!current || !sameSecret(req.headers[CSRF_HEADER] as string | undefined, current.session.csrf)) return sendJson(res, 403, { error: { code: "FORBIDDEN", message: "no session or bad CSRF token" } });
    sessions.delete(current.id);
    const configuration = await provider();
    const redirect = configuration.serverMetadata().end_session_endpoint
      ? oidc.buildEndSessionUrl(configuration, { post_logout_redirect_uri: `${base()}/console/`, ...(current.session.idToken ? { id_token_hint: current.session.idToken } : {}) }).href
      : "/console/";
    sendJson(res, 200, { redirect }, { "set-cookie": `${sessionCookie()}=${cookieAttrs(0)}` });
  }

  return {
    async handle(req, res) {
      const url = new URL(req.url ?? "/", "http://console.invalid");
      const path = url.pathname;
      const method = req.method ?? "GET";
      if (path.startsWith("/console/assets/")) {
        const asset = pages()?.assets.get(path);
        if (!asset || method !== "GET") return sendJson(res, 404, { error: { code: "NOT_FOUND", message: "no such asset" } });
        // Content-hashed names: a new build has new names, so these may be cached for good.
        return send(res, 200, asset.type, asset.body, { "cache-control": "public, max-age=31536000, immutable" });
      }
      if (!config) return send(res, 503, "text/plain; charset=utf-8", "The console is not configured: set AGENTGATE_CONSOLE_ISSUER (see README, Web console).");
      try {
        if (path === "/console/login" && method === "GET") return await login(res, url);
        if (path === "/console/callback" && method === "GET") return await callback(req, res, url);
        if (path === "/console/logout" && method === "POST") return await logout(req, res);
      } catch (err) {
        log.error("console sign-in unavailable", { error: (err as Error).message });
        return send(res, 502, "text/plain; charset=utf-8", "The identity provider cannot be reached right now.");
      }
      if (path === "/console/session" && method === "GET") {
        const current = sessionOf(req);
        if (!current) return sendJson(res, 401, { error: { code: "UNAUTHENTICATED", message: "not signed in" } });
        return sendJson(res, 200, { user: current.session.user, csrf: current.session.csrf, expiresAt: new Date(current.session.expiresAt).toISOString() });
      }
      if (method !== "GET") return sendJson(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "GET only" } });
      // Every other console path is a page of the app; signed out, go through sign-in and come back.
      if (!sessionOf(req)) return send(res, 302, "text/plain", "", { location: `/console/login?return=${encodeURIComponent(safeReturnPath(`${path}${url.search}`))}` });
      const built = pages();
      if (!built) return send(res, 503, "text/plain; charset=utf-8", "The console's pages are not built: run `npm run build` (or `node control-plane/console/web/build.mjs`).");
      return send(res, 200, "text/html; charset=utf-8", built.index);
    },
    gateGraphql(req) {
      if (req.headers.authorization !== undefined) return { kind: "pass" }; // automation: its own credential
      const current = sessionOf(req);
      if (!current) return { kind: "pass" }; // no session: the API answers UNAUTHENTICATED
      if (!sameSecret(req.headers[CSRF_HEADER] as string | undefined, current.session.csrf)) return { kind: "deny", message: "console requests need the session's CSRF token" };
      req.headers.authorization = `Bearer ${current.session.accessToken}`;
      return { kind: "pass" };
    },
  };
}
