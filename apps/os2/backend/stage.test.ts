import { describe, expect, it } from "vitest";

import { computeServerStage, computeStage, isDevPrefix, StageError } from "./stage.ts";

describe("computeStage", () => {
  it("uses dev-<ITERATE_USER> when ITERATE_USER is set and not 'unknown'", () => {
    expect(computeStage({ ITERATE_USER: "jonas", APP_STAGE: "stg" })).toBe("dev-jonas");
  });
  it("falls back to APP_STAGE when ITERATE_USER is 'unknown' or empty", () => {
    expect(computeStage({ ITERATE_USER: "unknown", APP_STAGE: "stg" })).toBe("stg");
    expect(computeStage({ ITERATE_USER: "", APP_STAGE: "pr-123" })).toBe("pr-123");
  });
  it("fails naming both variables when neither is set", () => {
    expect(() => computeStage({})).toThrow(StageError);
    expect(() => computeStage({})).toThrow(/ITERATE_USER.*APP_STAGE/);
  });
  it("rejects stages that cannot be part of a snapshot name", () => {
    expect(() => computeStage({ APP_STAGE: "Bad Stage" })).toThrow(/Invalid stage/);
  });
  it("lets the server fall back to local-<os user> with zero config", () => {
    expect(computeServerStage({}, "Ada.Lovelace")).toBe("local-ada-lovelace");
    expect(computeServerStage({ APP_STAGE: "prd" }, "x")).toBe("prd");
  });
  it("treats dev- and local- prefixes as developer prefixes", () => {
    expect(isDevPrefix("dev-jonas--")).toBe(true);
    expect(isDevPrefix("local-ada--")).toBe(true);
    expect(isDevPrefix("stg--")).toBe(false);
  });
});
