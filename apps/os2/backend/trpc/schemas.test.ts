/** The shared input schemas refuse control characters with a message that says so, once for every field. */
import { describe, expect, it } from "vitest";
import type { z } from "zod";

import { emailSchema, envKeySchema, envValueSchema, hasControlCharacter, nameSchema, slugSchema } from "./schemas.ts";

const messagesOf = (result: { success: boolean; error?: { issues: Array<{ message: string }> } }) =>
  result.success ? [] : (result.error?.issues ?? []).map((issue) => issue.message);

describe("input schemas", () => {
  it("counts C0 controls and DEL as control characters, and nothing printable", () => {
    for (let code = 0; code < 0x20; code++) expect(hasControlCharacter(`a${String.fromCharCode(code)}b`)).toBe(true);
    expect(hasControlCharacter("a\u007fb")).toBe(true);
    expect(hasControlCharacter("Ünïcødé — 🦦 ok")).toBe(false);
    expect(hasControlCharacter("a\tb", "\t")).toBe(false);
  });

  it("refuses a control character in names, slugs, emails and env keys with one message", () => {
    const cases: Array<[string, z.ZodType, string]> = [
      ["name", nameSchema, "Ac\u0000me"],
      ["name", nameSchema, "Ac\u001bme"],
      ["slug", slugSchema, "ac\u0000me"],
      ["email", emailSchema, "ada\u0000@example.com"],
      ["key", envKeySchema, "API\u007fKEY"],
    ];
    for (const [field, schema, value] of cases) {
      expect(messagesOf(schema.safeParse(value)), field).toEqual(["Must not contain control characters"]);
    }
  });

  it("trims a pasted line break around a name instead of refusing it", () => {
    expect(nameSchema.parse("  Acme\n")).toBe("Acme");
  });

  it("keeps line breaks and tabs in env values and refuses NUL", () => {
    const pem = "-----BEGIN PRIVATE KEY-----\r\n\tMIIB\n-----END PRIVATE KEY-----\n";
    expect(envValueSchema.parse(pem)).toBe(pem);
    expect(messagesOf(envValueSchema.safeParse("secret\u0000"))).toEqual([
      "Must not contain NUL characters (\\0); line breaks and tabs are fine",
    ]);
  });

  it("still says what a slug, email and env key must look like", () => {
    expect(messagesOf(slugSchema.safeParse("Not A Slug"))[0]).toMatch(/lowercase letters/);
    expect(messagesOf(emailSchema.safeParse("nope"))).toEqual(["Must be an email address"]);
    expect(messagesOf(envKeySchema.safeParse("lower"))[0]).toMatch(/uppercase letters/);
  });
});
