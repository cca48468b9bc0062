import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

describe("/api/logs", () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await createTestDaemon();
    const dir = join(daemon.config.logDir, "iterate-server");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "current"), ["line 1", "line 2", "line 3"].join("\n") + "\n");
  });
  afterAll(() => daemon.cleanup());

  it("lists services that have logs", async () => {
    const body = await (await daemon.call("/api/logs")).json();
    expect(body.services).toEqual([{ name: "iterate-server", logDir: join(daemon.config.logDir, "iterate-server") }]);
  });

  it("returns the last lines of a service's current log", async () => {
    const body = await (await daemon.call("/api/logs/iterate-server?lines=2")).json();
    expect(body).toEqual({ service: "iterate-server", lines: ["line 2", "line 3"] });
  });

  it("answers 404 for an unknown service and 400 for a path-like name", async () => {
    expect((await daemon.call("/api/logs/nope")).status).toBe(404);
    expect((await daemon.call("/api/logs/..%2Fetc")).status).toBe(400);
    expect((await daemon.call("/api/logs/iterate-server?lines=0")).status).toBe(400);
  });
});
