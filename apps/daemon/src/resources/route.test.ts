import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { execResultSchema, healthResponseSchema, oomReportSchema, usageResponseSchema } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

describe("OOM kills and usage over HTTP", () => {
  let daemon: TestDaemon;
  let machine: string;
  const setKills = (n: number) => writeFile(join(machine, "cgroup", "memory.events"), `oom ${n}\noom_kill ${n}\n`);

  beforeAll(async () => {
    machine = await mkdtemp(join(tmpdir(), "os2-oom-route-"));
    await cp(join(fixtures, "cgroup-v2"), join(machine, "cgroup"), { recursive: true });
    await cp(join(fixtures, "proc"), join(machine, "proc"), { recursive: true });
    await setKills(0);
    daemon = await createTestDaemon({ cgroupRoot: join(machine, "cgroup"), procRoot: join(machine, "proc") });
    await daemon.oom.tick();
  });
  afterAll(async () => {
    await daemon.cleanup();
    await rm(machine, { recursive: true, force: true });
  });

  it("GET /api/health carries the OOM report: no kills yet", async () => {
    const body = healthResponseSchema.parse(await (await daemon.call("/api/health", { auth: false })).json());
    expect(body.oom).toEqual({ kills: 0, recent: [], source: "cgroup-v2" });
  });

  it("GET /api/health and GET /api/oom report a kill, with the victim's name and pid, once the counter went up", async () => {
    await rm(join(machine, "proc", "388"), { recursive: true });
    await setKills(1);
    await daemon.oom.tick();
    const expected = {
      kills: 1,
      recent: [{ at: expect.any(String), process: "node", pid: 388, rssBytes: 40000 * 4096 }],
      source: "cgroup-v2",
    };
    const health = healthResponseSchema.parse(await (await daemon.call("/api/health", { auth: false })).json());
    expect(health.oom).toEqual(expected);
    expect(oomReportSchema.parse(await (await daemon.call("/api/oom")).json())).toEqual(expected);
  });

  it("names an exec command that the OOM killer took between two snapshots (the daemon saw its SIGKILL)", async () => {
    // `kill -9 $$` stands in for the OOM killer: a SIGKILL the daemon did not send, to a command no snapshot saw.
    const res = await daemon.call("/api/exec", {
      method: "POST",
      json: { command: "sh", args: ["-c", "echo $$; kill -9 $$"] },
    });
    const result = execResultSchema.parse(await res.json());
    expect(result).toMatchObject({ exitCode: 137, signal: "SIGKILL" });
    await setKills(2);
    await daemon.oom.tick();
    const { kills, recent } = oomReportSchema.parse(await (await daemon.call("/api/oom")).json());
    expect(kills).toBe(2);
    expect(recent.at(-1)).toMatchObject({ process: "sh", pid: Number(result.stdout.trim()) });
  });

  it("does not blame a command the daemon killed itself (timeout) for a later kill", async () => {
    const res = await daemon.call("/api/exec", {
      method: "POST",
      json: { command: "sleep", args: ["10"], timeoutMs: 100 },
    });
    expect(execResultSchema.parse(await res.json())).toMatchObject({ exitCode: 124, signal: "SIGKILL" });
    await setKills(3);
    await daemon.oom.tick();
    const { recent } = oomReportSchema.parse(await (await daemon.call("/api/oom")).json());
    expect(recent.at(-1)).toMatchObject({ process: null, pid: null });
  });

  it("wakes the OOM watch for a request that starts work (exec, a tmux session), not for reads or health", async () => {
    const woken = vi.spyOn(daemon.oom, "noteActivity");
    try {
      await daemon.call("/api/health", { auth: false });
      await daemon.call("/api/oom");
      await daemon.call("/api/tmux/sessions");
      expect(woken).not.toHaveBeenCalled();
      await daemon.call("/api/exec", { method: "POST", json: { command: "true" } });
      expect(woken).toHaveBeenCalledTimes(1);
      // Unauthenticated requests start nothing, and wake nothing.
      await daemon.call("/api/exec", { method: "POST", json: { command: "true" }, auth: false });
      expect(woken).toHaveBeenCalledTimes(1);
    } finally {
      woken.mockRestore();
    }
  });

  it("GET /api/oom and GET /api/usage need the token", async () => {
    expect((await daemon.call("/api/oom", { auth: false })).status).toBe(401);
    expect((await daemon.call("/api/usage", { auth: false })).status).toBe(401);
  });

  it("GET /api/usage answers memory, processes and CPU against the limits from the cgroup files", async () => {
    const usage = usageResponseSchema.parse(await (await daemon.call("/api/usage")).json());
    expect(usage).toEqual({
      source: "cgroup-v2",
      memory: { currentBytes: 201326592, maxBytes: 268435456 },
      pids: { current: 17, max: null },
      cpu: { usageUsec: 8123456, maxCpus: 1.5 },
    });
  });
});
