import { describe, expect, it } from "vitest";

import { normalizedDaemonPath } from "./dashboard-door.ts";

describe("the dashboard door's control-plane-only routes", () => {
  it("sees /api/claim and /api/env however a hostile caller spells them", () => {
    for (const spelling of [
      "/api/claim",
      "/api/claim/",
      "//api//claim",
      "/api/./claim",
      "/api/x/../claim",
      "/api/%2e%2e/api/claim",
      "/API/Claim",
      "/api/%63laim",
      "\\api\\claim",
    ]) {
      expect(normalizedDaemonPath(spelling), spelling).toBe("/api/claim");
    }
    expect(normalizedDaemonPath("/api/env/")).toBe("/api/env");
    expect(normalizedDaemonPath("/api/exec")).toBe("/api/exec");
    expect(normalizedDaemonPath("/api/envelope")).toBe("/api/envelope");
  });
});
