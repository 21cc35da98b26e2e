/**
 * Server-side state of the console: signed-in sessions and logins in progress, in memory,
 * keyed by a random 256-bit id that only the browser's HttpOnly cookie carries. Bounded:
 * the oldest entries go first when full, and expired ones are dropped when read.
 */
import { randomBytes } from "node:crypto";

/** A signed-in user. The access token never leaves the server. */
export interface ConsoleSession {
  readonly accessToken: string;
  readonly idToken: string | undefined;
  readonly user: { readonly sub: string; readonly email: string | undefined };
  /** Sent by the page with every mutation (header), compared in constant time. */
  readonly csrf: string;
  readonly expiresAt: number;
}

/** A login between the redirect to the identity provider and its callback. */
export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** Console path to land on after sign-in (validated). */
  readonly returnTo: string;
  readonly expiresAt: number;
}

/** Random opaque id (cookie value). */
export const newId = (): string => randomBytes(32).toString("base64url");

/** A bounded map with per-entry expiry. */
export class ExpiringStore<T extends { readonly expiresAt: number }> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly max: number) {}

  put(value: T): string {
    const id = newId();
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, value);
    return id;
  }

  get(id: string | undefined, now = Date.now()): T | undefined {
    if (!id) return undefined;
    const value = this.entries.get(id);
    if (value && value.expiresAt <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return value;
  }

  /** Reads and removes (a pending login is used once). */
  take(id: string | undefined): T | undefined {
    const value = this.get(id);
    if (id) this.entries.delete(id);
    return value;
  }

  delete(id: string | undefined): void {
    if (id) this.entries.delete(id);
  }
}
