import http from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Os2 } from "./client";
import { isOs2Error, Os2Error, Os2NetworkError } from "./errors";
import { backoffDelay, DEFAULT_RETRY_POLICY, shouldRetry } from "./retry";

describe("shouldRetry", () => {
  const policy = { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 };

  it("retries idempotent requests on network errors and 503, up to the attempt limit", () => {
    expect(shouldRetry(policy, 1, { kind: "network" }, true)).toBe(true);
    expect(shouldRetry(policy, 2, { kind: "status", status: 503 }, true)).toBe(true);
    expect(shouldRetry(policy, 3, { kind: "network" }, true)).toBe(false);
  });

  it("never retries a request that could act twice", () => {
    expect(shouldRetry(policy, 1, { kind: "network" }, false)).toBe(false);
    expect(shouldRetry(policy, 1, { kind: "status", status: 503 }, false)).toBe(false);
  });

  it("does not retry answers that would answer the same (4xx, 500, 502)", () => {
    for (const status of [400, 401, 404, 409, 429, 500, 502]) {
      expect(shouldRetry(policy, 1, { kind: "status", status }, true)).toBe(false);
    }
  });
});

describe("backoffDelay", () => {
  it("grows exponentially with jitter between half and all of the step, capped", () => {
    const p = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(p, 1, undefined, () => 0)).toBe(50);
    expect(backoffDelay(p, 1, undefined, () => 1)).toBe(100);
    expect(backoffDelay(p, 3, undefined, () => 1)).toBe(400);
    expect(backoffDelay(p, 8, undefined, () => 1)).toBe(1_000);
  });

  it("follows the server's Retry-After, but no longer than the cap", () => {
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 1, 2)).toBe(2_000);
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 1, 3_600)).toBe(DEFAULT_RETRY_POLICY.maxDelayMs);
  });
});

/** A real HTTP server answering a scripted status sequence per path, recording what it was sent. */
describe("the client against a flaky server", () => {
  let server: http.Server;
  let baseUrl: string;
  const seen: { method: string; url: string; key: string | undefined; auth: string | undefined }[] = [];
  let script: number[] = [];
  const machine = {
    id: "mach_1",
    name: "m one",
    type: "local-docker",
    state: "running",
    desiredState: "running",
    lastError: null,
    limits: { cpus: null, memoryMb: null, pids: null, diskMb: null },
    createdAt: "2025-01-01T00:00:00Z",
    readyAt: null,
    envPendingRestart: false,
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        key: req.headers["idempotency-key"] as string | undefined,
        auth: req.headers.authorization,
      });
      const status = script.shift() ?? 200;
      res.setHeader("content-type", "application/json");
      if (status === 503) {
        res.writeHead(503).end(JSON.stringify({ error: "unavailable", message: "database unreachable" }));
      } else if (status === 404) {
        res.writeHead(404).end(JSON.stringify({ error: "not_found", message: "no machine x", field: "machine" }));
      } else if (status === 0) {
        req.socket.destroy(); // no answer at all
      } else {
        res.writeHead(req.method === "POST" ? 201 : 200).end(JSON.stringify(machine));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const client = () => new Os2({ baseUrl, token: "pat_test", retry: { baseDelayMs: 1, maxDelayMs: 5 } });

  it("a GET comes through two 503s and a dropped connection, with the token on every try", async () => {
    seen.length = 0;
    script = [503, 0, 503];
    const m = await client().machines.get("m one");
    expect(m.name).toBe("m one");
    expect(seen.map((s) => s.url)).toEqual(Array(4).fill("/api/v1/machines/m%20one"));
    expect(seen.every((s) => s.auth === "Bearer pat_test")).toBe(true);
  });

  it("gives up after the attempt limit with the server's own error", async () => {
    script = [503, 503, 503, 503, 503];
    const error = await client()
      .machines.get("x")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Os2Error);
    expect(error).toMatchObject({ status: 503, code: "unavailable", message: "database unreachable" });
    script = [];
  });

  it("a create retries with the same idempotency key, so it cannot make two machines", async () => {
    seen.length = 0;
    script = [503, 0];
    await client().machines.create({ name: "m one" });
    expect(seen).toHaveLength(3);
    const keys = new Set(seen.map((s) => s.key));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^sdk-/);
  });

  it("restart is not retried: a lost answer could mean it already restarted", async () => {
    seen.length = 0;
    script = [0];
    const error = await client()
      .machines.restart("m one")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Os2NetworkError);
    expect(seen).toHaveLength(1);
  });

  it("an error answer keeps its code, message and field", async () => {
    script = [404];
    const error = await client()
      .machines.get("x")
      .catch((e: unknown) => e);
    expect(isOs2Error(error, "not_found")).toBe(true);
    expect((error as Os2Error).describe()).toBe("no machine x (field: machine)");
  });
});
