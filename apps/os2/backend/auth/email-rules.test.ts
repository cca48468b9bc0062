import { describe, expect, it } from "vitest";

import { isSignupAllowed, isTestEmail, parseSignupAllowlist, testOtpEnabled } from "./email-rules.ts";

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
  it("recognise +…test@ only where the fixed code is enabled", () => {
    expect(isTestEmail("ada+test@example.com", true)).toBe(true);
    expect(isTestEmail("ada+e2etest@example.com", true)).toBe(true);
    expect(isTestEmail("ada+test@example.com", false)).toBe(false);
    expect(isTestEmail("test@example.com", true)).toBe(false);
    expect(isTestEmail("ada+testing@example.com", true)).toBe(false);
  });

  it("enable the fixed code by default on local and developer stages only", () => {
    for (const stage of ["local-ada", "dev-ada"]) expect(testOtpEnabled(undefined, stage), stage).toBe(true);
    for (const stage of ["stg", "prd", "production", "prod", "pr-12", "e2e", "local", "develop"]) {
      expect(testOtpEnabled(undefined, stage), stage).toBe(false);
    }
    expect(testOtpEnabled(true, "stg")).toBe(true);
    expect(testOtpEnabled(false, "dev-ada")).toBe(false);
  });
});
