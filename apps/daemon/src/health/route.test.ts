import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { healthResponseSchema } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

describe("GET /api/health", () => {
  let daemon: TestDaemon;
  let svscan: ChildProcess;
  beforeAll(async () => {
    daemon = await createTestDaemon();
    // A real s6-svscan over one service, so health reads real s6-svstat output.
    const service = join(daemon.config.s6ScanDir, "sleeper");
    await mkdir(service, { recursive: true });
    await writeFile(join(service, "run"), "#!/bin/sh\nexec sleep 600\n");
    await chmod(join(service, "run"), 0o755);
    svscan = spawn("s6-svscan", [daemon.config.s6ScanDir], { stdio: "ignore" });
  });
  afterAll(async () => {
    svscan.kill("SIGTERM");
    await new Promise((r) => svscan.once("exit", r));
    await daemon.cleanup();
  });

  it("reports version, uptime and each s6 service's state", async () => {
    let body = healthResponseSchema.parse(await (await daemon.call("/api/health", { auth: false })).json());
    for (let i = 0; i < 50 && body.services[0]?.state !== "up"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      body = healthResponseSchema.parse(await (await daemon.call("/api/health", { auth: false })).json());
    }
    expect(body).toMatchObject({ status: "ok", version: "test" });
    expect(body.uptimeSeconds).toBeGreaterThan(0);
    expect(body.services).toEqual([
      expect.objectContaining({ name: "sleeper", state: "up", wantUp: true, pid: expect.any(Number) }),
    ]);
  });

  it("reports a service stopped on purpose (s6-svc -d) as down without degrading health", async () => {
    const service = join(daemon.config.s6ScanDir, "sleeper");
    spawn("s6-svc", ["-d", service]);
    let body = healthResponseSchema.parse(await (await daemon.call("/api/health", { auth: false })).json());
    for (let i = 0; i < 50 && body.services[0]?.state !== "down"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      body = healthResponseSchema.parse(await (await daemon.call("/api/health", { auth: false })).json());
    }
    // `s6-svc -d` also clears "want up", so the service is down on purpose: still ok.
    expect(body.services[0]).toMatchObject({ state: "down", wantUp: false, signal: "SIGTERM" });
    expect(body.status).toBe("ok");
  });
});
