import { describe, expect, test } from "vitest";

import { ProviderError } from "../errors";
import { type DockerCallContext, toProviderError } from "./map-docker-error";

const base = (overrides: Partial<DockerCallContext> = {}): DockerCallContext => ({
  operation: "start container abc",
  dockerHost: "tcp://127.0.0.1:2375",
  timeoutMs: 5_000,
  deadline: new AbortController().signal,
  ...overrides,
});
const httpError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode})`), { statusCode, json: { message } });
const socketError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe("toProviderError", () => {
  test.each([
    [404, "not_found"],
    [409, "invalid_state"],
    [304, "invalid_state"],
    [429, "rate_limited"],
  ] as const)("HTTP %i becomes %s and carries Docker's message", (status, kind) => {
    const error = toProviderError(httpError(status, "docker says why"), base());
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe(kind);
    if (status !== 304) expect(error.message).toContain("docker says why");
  });

  test.each(["ECONNREFUSED", "ENOENT", "EHOSTUNREACH", "EACCES"])(
    "%s becomes unreachable, naming the endpoint and DOCKER_HOST",
    (code) => {
      const error = toProviderError(socketError(code), base());
      expect(error).toMatchObject({ kind: "unreachable" });
      expect(error.message).toMatch(/^Docker not reachable at tcp:\/\/127\.0\.0\.1:2375: /);
      expect(error.message).toContain("Set DOCKER_HOST or enable the Docker TCP API");
    },
  );

  test("a fired deadline becomes timeout; a caller's abort passes through unchanged", () => {
    const timedOut = toProviderError(new Error("aborted"), base({ deadline: AbortSignal.abort() }));
    expect(timedOut).toMatchObject({ kind: "timeout" });
    expect(timedOut.message).toContain("within 5000 ms");

    const reason = new Error("user navigated away");
    expect(
      toProviderError(
        new Error("aborted"),
        base({ callerSignal: AbortSignal.abort(reason), deadline: AbortSignal.abort() }),
      ),
    ).toBe(reason);
  });

  test("onNotFound overrides a 404, and statuses outside the typed set stay plain errors with Docker's message", () => {
    const missing = toProviderError(
      httpError(404, "No such image"),
      base({ onNotFound: { kind: "unavailable", message: "build it" } }),
    );
    expect(missing).toMatchObject({ kind: "unavailable", message: "build it" });
    const serverError = toProviderError(httpError(500, "driver failed programming external connectivity"), base());
    expect(serverError).not.toBeInstanceOf(ProviderError);
    expect(serverError.message).toBe(
      "Docker start container abc failed (HTTP 500): driver failed programming external connectivity",
    );
  });
});
