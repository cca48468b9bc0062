/**
 * Secret handling: AES-256-GCM for values os2 must read back (env vars, machine tokens, preview tokens),
 * SHA-256 for values it only compares (access tokens).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";

export type Encryptor = {
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
};

/** The key is derived from ENCRYPTION_SECRET with SHA-256 so any sufficiently long secret string works. */
export function createEncryptor(secret: string): Encryptor {
  const key = createHash("sha256").update(secret, "utf8").digest();
  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `v1:${iv.toString("base64url")}:${tag.toString("base64url")}:${body.toString("base64url")}`;
    },
    decrypt(ciphertext) {
      const [version, iv, tag, body] = ciphertext.split(":");
      if (version !== "v1" || !iv || !tag || body === undefined) throw new Error("Unrecognised ciphertext format");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
    },
  };
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What lists show instead of a secret. Fixed, so it reveals neither content nor length. */
export const MASKED_VALUE = "••••••••";
