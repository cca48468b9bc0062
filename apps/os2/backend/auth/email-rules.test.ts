import { describe, expect, it } from "vitest";

import { isSignupAllowed, isTestEmail, parseSignupAllowlist } from "./email-rules.ts";

describe("signup allowlist", () => {
  it("defaults to *@example.com outside prd and to nobody in prd", () => {
    expect(isSignupAllowed(parseSignupAllowlist(undefined, "stg"), "a@example.com")).toBe(true);
    expect(isSignupAllowed(parseSignupAllowlist(undefined, "prd"), "a@example.com")).toBe(false);
  });
  it("matches exact entries and *@domain wildcards case-insensitively", () => {
    const list = parseSignupAllowlist(" Ada@Corp.io , *@Team.dev ", "prd");
    expect(isSignupAllowed(list, "ada@corp.io")).toBe(true);
    expect(isSignupAllowed(list, "ADA@CORP.IO")).toBe(true);
    expect(isSignupAllowed(list, "bob@corp.io")).toBe(false);
    expect(isSignupAllowed(list, "Bob@team.DEV")).toBe(true);
    expect(isSignupAllowed(list, "bob@evilteam.dev")).toBe(false);
  });
});

describe("test addresses", () => {
  it("recognise +…test@ outside prd only", () => {
    expect(isTestEmail("ada+test@example.com", "dev-ada")).toBe(true);
    expect(isTestEmail("ada+e2etest@example.com", "stg")).toBe(true);
    expect(isTestEmail("ada+test@example.com", "prd")).toBe(false);
    expect(isTestEmail("test@example.com", "stg")).toBe(false);
    expect(isTestEmail("ada+testing@example.com", "stg")).toBe(false);
  });
});
