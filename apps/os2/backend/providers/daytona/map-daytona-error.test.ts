import {
  DaytonaConflictError,
  DaytonaConnectionError,
  DaytonaConnectionTimeoutError,
  DaytonaError,
  DaytonaFileNotFoundError,
  DaytonaNotFoundError,
  DaytonaProcessExecutionTimeoutError,
  DaytonaRateLimitError,
  DaytonaTimeoutError,
} from "@daytonaio/sdk";
import { describe, expect, it } from "vitest";

import { ProviderError } from "../errors";
import { toMachineState } from "./daytona-provider";
import { DaytonaHttpError, isDaytonaNotFound, mapDaytonaError } from "./map-daytona-error";

const kindOf = (error: unknown) => (error instanceof ProviderError ? error.kind : "not a ProviderError");

describe("mapDaytonaError", () => {
  it.each([
    [new DaytonaNotFoundError("Sandbox not found", 404), "not_found"],
    [new DaytonaError("gone", 404), "not_found"],
    [new DaytonaConflictError("busy", 409), "invalid_state"],
    [new DaytonaError("Sandbox is not stopped", 400), "invalid_state"],
    [new DaytonaRateLimitError("slow down", 429), "rate_limited"],
    [new DaytonaConnectionError("ECONNREFUSED"), "unreachable"],
    [new DaytonaConnectionTimeoutError("read timeout"), "timeout"],
    [new DaytonaTimeoutError("Sandbox failed to become ready within the timeout period"), "timeout"],
    [new DaytonaError("Internal", 500), "unavailable"],
    // Subclasses of the SDK's classes map like their parents (recognised without importing the SDK).
    [new DaytonaFileNotFoundError("no such file"), "not_found"],
    [new DaytonaProcessExecutionTimeoutError("took too long"), "timeout"],
    // The snapshot resolver's own REST calls.
    [new DaytonaHttpError("Not found", 404), "not_found"],
    [new DaytonaHttpError("Unauthorized", 401), "unavailable"],
    [new DaytonaHttpError("Bad Gateway", 502), "unavailable"],
    [new DaytonaError("Unauthorized", 401), "unavailable"],
    [new DOMException("The operation was aborted", "AbortError"), "timeout"],
    [new TypeError("fetch failed"), "unreachable"],
  ] as const)("maps %s to %s", (error, kind) => {
    expect(kindOf(mapDaytonaError(error, "do it"))).toBe(kind);
  });

  it("tells Daytona's not-found answers from other failures", () => {
    expect(isDaytonaNotFound(new DaytonaNotFoundError("Sandbox not found", 404))).toBe(true);
    expect(isDaytonaNotFound(new DaytonaError("gone", 404))).toBe(true);
    expect(isDaytonaNotFound(new DaytonaConflictError("busy", 409))).toBe(false);
    // An error that only looks like one (a 404 on something else) is not Daytona's answer.
    expect(isDaytonaNotFound(Object.assign(new Error("Not Found"), { statusCode: 404 }))).toBe(false);
  });

  it("keeps programming errors as they are, so they are logged with their stack", () => {
    const bug = new TypeError("Cannot read properties of undefined");
    expect(mapDaytonaError(bug, "do it")).toBe(bug);
  });

  it("tells the user which variable to check when the key is rejected", () => {
    expect(String(mapDaytonaError(new DaytonaError("Unauthorized", 401), "list sandboxes"))).toContain(
      "DAYTONA_API_KEY",
    );
  });
});

describe("toMachineState", () => {
  it.each([
    ["started", "running"],
    ["stopped", "stopped"],
    ["archived", "archived"],
    ["creating", "creating"],
    ["pulling_snapshot", "creating"],
    ["restoring", "starting"],
    ["archiving", "stopping"],
    ["destroying", "deleting"],
    ["destroyed", "missing"],
    ["build_failed", "error"],
    [undefined, "error"],
  ] as const)("Daytona %s → %s", (daytona, os2) => {
    expect(toMachineState(daytona)).toBe(os2);
  });
});

describe("createUnconfiguredDaytonaProvider", () => {
  it("says what to set, and refuses to list rather than report every daytona machine gone", async () => {
    const { createUnconfiguredDaytonaProvider } = await import("./daytona-provider");
    const provider = createUnconfiguredDaytonaProvider();
    expect(await provider.availability()).toEqual({
      available: false,
      reason: "Daytona not configured: set DAYTONA_API_KEY",
    });
    const error = await provider.list({ "os2.managed": "true" }).catch((e: unknown) => e);
    expect(kindOf(error)).toBe("unavailable");
  });
});
