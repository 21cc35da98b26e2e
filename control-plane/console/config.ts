/**
 * The console's settings (AGENTGATE_CONSOLE_*). Without an issuer the console is off:
 * its pages answer that sign-in is not configured, and nothing else changes.
 */
import { isLoopbackHost } from "./loopback.js";

export interface ConsoleConfig {
  /** OIDC issuer users sign in with (the relying party side: authorization code + PKCE). */
  readonly issuer: string;
  /** The console's client id at that issuer (a public client; PKCE protects the code). */
  readonly clientId: string;
  /** Public base URL of the control plane (redirect URI = base + /console/callback); default its listen address. */
  readonly publicUrl: string | undefined;
  /** RFC 8707 resource to ask access tokens for (their audience must be one the provider row accepts). */
  readonly resource: string | undefined;
  /** Plain-http issuer allowed (dev: loopback only). */
  readonly allowHttpIssuer: boolean;
}

/** Reads the console settings; undefined when AGENTGATE_CONSOLE_ISSUER is unset. Throws on a bad value. */
export function loadConsoleConfig(env: NodeJS.ProcessEnv = process.env): ConsoleConfig | undefined {
  const issuer = env["AGENTGATE_CONSOLE_ISSUER"];
  if (!issuer) return undefined;
  const url = new URL(issuer);
  const allowHttpIssuer = url.protocol === "http:" && isLoopbackHost(url.hostname) && ["loopback", "any"].includes(env["AGENTGATE_ALLOW_HTTP_ISSUERS"] ?? "");
  if (url.protocol !== "https:" && !allowHttpIssuer) {
    throw new Error("AGENTGATE_CONSOLE_ISSUER must be https (http only on loopback with AGENTGATE_ALLOW_HTTP_ISSUERS=loopback)");
  }
  const publicUrl = env["AGENTGATE_CONSOLE_URL"] || undefined;
  if (publicUrl) {
    const p = new URL(publicUrl);
    if (p.protocol !== "https:" && !isLoopbackHost(p.hostname)) throw new Error("AGENTGATE_CONSOLE_URL must be https outside loopback");
  }
  return {
    issuer,
    clientId: env["AGENTGATE_CONSOLE_CLIENT_ID"] || "agentgate-console",
    publicUrl: publicUrl?.replace(/\/+$/, ""),
    resource: env["AGENTGATE_CONSOLE_RESOURCE"] || undefined,
    allowHttpIssuer,
  };
}
