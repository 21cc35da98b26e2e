/**
 * Which URLs we accept for issuers, discovery and JWKS endpoints.
 *
 * Why https only by default: the JWKS decides which signatures we trust. Fetched over plain http,
 * anyone on the path could substitute their own keys and mint tokens for any identity. Plain http
 * is allowed only by an explicit option, and by default only towards loopback (a dev IdP on the
 * same machine, tests).
 */

/**
 * How much plain http to tolerate: `"never"` (production default), `"loopback"` (localhost,
 * 127.0.0.0/8, ::1 — dev and tests), `"any"` (a dev cluster with an http IdP; never production).
 */
export type HttpAllowance = "never" | "loopback" | "any";

const LOOPBACK_V4 = /^127\.(?:\d{1,3})\.(?:\d{1,3})\.(?:\d{1,3})$/;

/**
 * True for host names that always mean this machine: "localhost", 127.0.0.0/8, [::1]. Not
 * "*.localhost": whether those resolve locally depends on the resolver, and a name that may reach
 * the network must not get the http exemption.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "[::1]" || LOOPBACK_V4.test(h);
}

/**
 * Checks that `raw` is an absolute URL we may fetch keys from: https (or http as allowed), no
 * credentials, no fragment. Returns the parsed URL or one human-readable problem.
 */
export function checkKeyUrl(
  raw: string,
  allowHttp: HttpAllowance,
): { ok: true; url: URL } | { ok: false; problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: "is not an absolute URL" };
  }
  if (url.username !== "" || url.password !== "") return { ok: false, problem: "must not contain credentials" };
  if (url.hash !== "") return { ok: false, problem: "must not contain a fragment" };
  if (url.protocol === "https:") return { ok: true, url };
  if (url.protocol !== "http:") return { ok: false, problem: `must use https (got ${url.protocol})` };
  if (allowHttp === "any") return { ok: true, url };
  if (allowHttp === "loopback" && isLoopbackHost(url.hostname)) return { ok: true, url };
  return {
    ok: false,
    problem:
      allowHttp === "loopback"
        ? "must use https (http is allowed only for loopback hosts)"
        : "must use https (http needs the explicit allowHttp option)",
  };
}
