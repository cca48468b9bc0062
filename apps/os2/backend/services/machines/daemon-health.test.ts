/**
 * Health is the daemon's report, parsed: only `status: "ok"` counts. A degraded daemon, or something on the
 * port that answers 200 with another body, is not healthy.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { HealthResponse } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { checkHealth, waitForHealth } from "./daemon-health.ts";

const report = (status: HealthResponse["status"]): HealthResponse => ({
  status,
  version: "test",
  startedAt: new Date().toISOString(),
  uptimeSeconds: 3,
  services: [
    {
      name: "iterate-server",
      state: "up",
      wantUp: true,
      ready: status === "ok",
      pid: 7,
      seconds: 3,
      exitCode: null,
      signal: null,
    },
  ],
});

describe("daemon health", () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: string } = { status: 200, body: "" };

  beforeAll(async () => {
    server = createServer((_request, response) => response.writeHead(answer.status).end(answer.body));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it("counts a daemon healthy only when it reports ok", async () => {
    answer = { status: 200, body: JSON.stringify(report("ok")) };
    expect(await checkHealth({ url, headers: {} })).toEqual({ healthy: true });
  });

  it("does not count a degraded daemon healthy, and says which service is not ready", async () => {
    answer = { status: 200, body: JSON.stringify(report("degraded")) };
    const verdict = await checkHealth({ url, headers: {} });
    expect(verdict.healthy).toBe(false);
    expect(verdict).toMatchObject({ reason: expect.stringMatching(/degraded \(iterate-server\)/) });
  });

  it("does not count a 200 that is not the daemon's health report", async () => {
    for (const body of ["{}", "<html>hello</html>", JSON.stringify({ status: "ok" })]) {
      answer = { status: 200, body };
      expect((await checkHealth({ url, headers: {} })).healthy).toBe(false);
    }
  });

  it("gives up waiting on a degraded daemon with the daemon's own reason", async () => {
    answer = { status: 200, body: JSON.stringify(report("degraded")) };
    await expect(waitForHealth({ endpoint: async () => ({ url, headers: {} }), timeoutMs: 300 })).rejects.toThrow(
      /not healthy within 0 s: The daemon reports degraded/,
    );
  });
});
