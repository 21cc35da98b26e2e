/**
 * Proxy authentication for every gRPC call to the control plane (DESIGN.md §3): the call
 * must carry `authorization: Bearer <proxy token>`. Checked in a server interceptor, before
 * the handler runs and before any request message is read, so an unauthenticated Watch
 * gets UNAUTHENTICATED and nothing else (snapshots carry upstream secrets).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { GrpcLog } from "./log.js";

/** Why a call was refused; a closed set, logged as `reason`. */
export type ProxyAuthFailure = "missing-token" | "malformed-authorization" | "invalid-token";

/** Outcome of checking one call's metadata. */
export type ProxyAuthResult = { ok: true } | { ok: false; reason: ProxyAuthFailure };

/** Shortest accepted proxy token: anything shorter is guessable and a configuration error. */
export const MIN_PROXY_TOKEN_LENGTH = 16;

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Prepares a checker for one or more accepted tokens (several allow rotation without
 * downtime). Throws at start-up on a token that is empty or too short.
 */
export function proxyTokenChecker(tokens: string | readonly string[]): (metadata: grpc.Metadata) => ProxyAuthResult {
  const list = typeof tokens === "string" ? [tokens] : tokens;
  if (list.length === 0) throw new Error("at least one proxy token is required");
  for (const t of list) {
    if (t.length < MIN_PROXY_TOKEN_LENGTH) throw new Error(`proxy token must be at least ${MIN_PROXY_TOKEN_LENGTH} characters`);
  }
  // Compare fixed-length digests, so neither the content nor the length of the expected
  // token leaks through timing.
  const expected = list.map(digest);
  return (metadata) => {
    const values = metadata.get("authorization");
    if (values.length === 0) return { ok: false, reason: "missing-token" };
    const header = values[0];
    // Exactly one header, a string, and the Bearer scheme (case-insensitive per RFC 7235).
    const match = values.length === 1 && typeof header === "string" ? /^Bearer +(\S+) *$/i.exec(header) : null;
    if (match?.[1] === undefined) return { ok: false, reason: "malformed-authorization" };
    const presented = digest(match[1]);
    let ok = false;
    // No early exit: every configured token is compared.
    for (const e of expected) ok = timingSafeEqual(presented, e) || ok;
    return ok ? { ok: true } : { ok: false, reason: "invalid-token" };
  };
}

/**
 * A grpc-js server interceptor enforcing the proxy token on every call. A refused call
 * ends with UNAUTHENTICATED; its metadata never reaches the handler, so the handler never
 * starts. Accepted calls reach the handler without the authorization header.
 */
export function proxyAuthInterceptor(tokens: string | readonly string[], log: GrpcLog): grpc.ServerInterceptor {
  const check = proxyTokenChecker(tokens);
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, mdNext) {
            const result = check(metadata);
            if (!result.ok) {
              log("warn", "grpc call refused", { method: method.path, peer: call.getPeer(), reason: result.reason });
              call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: "proxy token required", metadata: null });
              return;
            }
            // Handlers have no use for the secret; keep it out of anything they might log.
            metadata.remove("authorization");
            mdNext(metadata);
          },
        });
      },
    });
}
