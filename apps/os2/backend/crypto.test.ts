import { describe, expect, it } from "vitest";

import { createEncryptor, sha256Hex } from "./crypto.ts";

describe("encryptor", () => {
  it("round-trips values and never emits the plaintext", () => {
    const e = createEncryptor("secret-one");
    const sealed = e.encrypt("hunter2-value");
    expect(sealed).not.toContain("hunter2");
    expect(e.decrypt(sealed)).toBe("hunter2-value");
  });
  it("uses a fresh IV each time", () => {
    const e = createEncryptor("secret-one");
    expect(e.encrypt("same")).not.toBe(e.encrypt("same"));
  });
  it("refuses ciphertext from another key or tampered ciphertext", () => {
    const sealed = createEncryptor("secret-one").encrypt("value");
    expect(() => createEncryptor("secret-two").decrypt(sealed)).toThrow();
    const tampered = sealed.slice(0, -2) + (sealed.endsWith("A") ? "BB" : "AA");
    expect(() => createEncryptor("secret-one").decrypt(tampered)).toThrow();
  });
  it("hashes with SHA-256", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
