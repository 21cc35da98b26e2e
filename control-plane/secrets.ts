import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const VERSION = "v1";

/**
 * Encrypts upstream credentials at rest (AES-256-GCM, random 96-bit nonce, versioned
 * format `v1.<nonce>.<tag>.<ciphertext>` in base64url). The key never leaves the process.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** From a base64 32-byte key (AGENTGATE_SECRET_KEY). */
  static fromBase64(encoded: string): SecretBox {
    const key = Buffer.from(encoded, "base64");
    if (key.length !== 32) throw new Error("AGENTGATE_SECRET_KEY must be 32 bytes, base64-encoded");
    return new SecretBox(key);
  }

  /** Reads the key file, creating it (mode 0600) on first use: the zero-setup default. */
  static fromKeyFile(path: string): SecretBox {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
    }
    chmodSync(path, 0o600);
    return SecretBox.fromBase64(readFileSync(path, "utf8").trim());
  }

  /** A key for another purpose derived from this one (HMAC-SHA256 over a label), base64url. */
  derive(label: string): string {
    return createHmac("sha256", this.key).update(label).digest("base64url");
  }

  encrypt(plaintext: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, nonce.toString("base64url"), cipher.getAuthTag().toString("base64url"), data.toString("base64url")].join(".");
  }

  decrypt(sealed: string): string {
    const [version, nonce, tag, data] = sealed.split(".");
    if (version !== VERSION || !nonce || !tag || data === undefined) throw new Error("unrecognized credential ciphertext");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(nonce, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
  }
}
