import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { ServiceStatus } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import * as processModule from "../process";
import { decodeSupervisorStatus, readAllServiceStatuses, readServiceStatus, readServiceStatusWithSvstat } from "./s6";

vi.mock("../process", async (importOriginal) => {
  const original = await importOriginal<typeof processModule>();
  return { ...original, runCommand: vi.fn(original.runCommand) };
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function addService(scanDir: string, name: string, script: string): Promise<void> {
  await mkdir(join(scanDir, name), { recursive: true });
  await writeFile(join(scanDir, name, "run"), `#!/bin/sh\n${script}\n`);
  await chmod(join(scanDir, name, "run"), 0o755);
}

async function waitFor(scanDir: string, name: string, ok: (s: ServiceStatus) => boolean): Promise<ServiceStatus> {
  let status = await readServiceStatus(scanDir, name);
  for (let i = 0; i < 100 && !ok(status); i++) {
    await sleep(50);
    status = await readServiceStatus(scanDir, name);
  }
  return status;
}

/** Same answer as s6-svstat, allowing the seconds to tick between the two reads. */
async function expectSameAsSvstat(scanDir: string, name: string): Promise<void> {
  const direct = await readServiceStatus(scanDir, name);
  const svstat = await readServiceStatusWithSvstat(scanDir, name);
  expect({ ...direct, seconds: null }).toEqual({ ...svstat, seconds: null });
  expect(Math.abs((direct.seconds ?? -9) - (svstat.seconds ?? 0))).toBeLessThanOrEqual(1);
}

describe("service states from supervise/status (no process per health probe)", () => {
  let scanDir: string;
  let svscan: ChildProcess;

  beforeAll(async () => {
    scanDir = await mkdtemp(join(tmpdir(), "os2-s6-status-"));
    await addService(scanDir, "sleeper", "exec sleep 600");
    await addService(scanDir, "crasher", "sleep 0.2; exit 3");
    svscan = spawn("s6-svscan", [scanDir], { stdio: "ignore" });
  });

  afterAll(async () => {
    svscan.kill("SIGTERM");
    await new Promise((r) => svscan.once("exit", r));
    await rm(scanDir, { recursive: true, force: true });
  });

  it("reads every service's state without starting a child process", async () => {
    await waitFor(scanDir, "sleeper", (s) => s.state === "up");
    vi.mocked(processModule.runCommand).mockClear();
    const statuses = await readAllServiceStatuses(scanDir);
    expect(statuses.map((s) => s.name)).toEqual(["crasher", "sleeper"]);
    expect(statuses[1]).toMatchObject({ state: "up", wantUp: true, pid: expect.any(Number) });
    expect(processModule.runCommand).not.toHaveBeenCalled();
  });

  it("agrees with s6-svstat for a running service", async () => {
    await waitFor(scanDir, "sleeper", (s) => s.state === "up");
    await expectSameAsSvstat(scanDir, "sleeper");
  });

  it("reports a crashing service down with its exit code while s6 still wants it up", async () => {
    const status = await waitFor(scanDir, "crasher", (s) => s.state === "down" && s.exitCode === 3);
    expect(status).toMatchObject({ state: "down", wantUp: true, pid: null, exitCode: 3, signal: null });
  });

  it("agrees with s6-svstat for a service stopped with s6-svc -d (killed by SIGTERM)", async () => {
    spawn("s6-svc", ["-d", join(scanDir, "sleeper")]);
    const status = await waitFor(scanDir, "sleeper", (s) => s.state === "down");
    expect(status).toMatchObject({ state: "down", wantUp: false, signal: "SIGTERM", exitCode: null });
    await expectSameAsSvstat(scanDir, "sleeper");
  });

  it("answers unknown for a service no s6-supervise watches (a stale status file is not trusted)", async () => {
    expect(await readServiceStatus(scanDir, "missing")).toMatchObject({ state: "unknown", wantUp: false });
    const orphan = await mkdtemp(join(tmpdir(), "os2-s6-orphan-"));
    try {
      // A status file left by a supervisor that is gone: the FIFO has no reader.
      await mkdir(join(orphan, "svc/supervise"), { recursive: true });
      spawn("mkfifo", [join(orphan, "svc/supervise/control")]);
      await sleep(100);
      const up = Buffer.alloc(35);
      up.writeBigUInt64BE(2n ** 62n + 37n + BigInt(Math.floor(Date.now() / 1000)), 0);
      up.writeBigUInt64BE(1234n, 24);
      up[34] = 4;
      await writeFile(join(orphan, "svc/supervise/status"), up);
      expect(await readServiceStatus(orphan, "svc")).toMatchObject({ state: "unknown" });
    } finally {
      await rm(orphan, { recursive: true, force: true });
    }
  });
});

describe("decodeSupervisorStatus", () => {
  const now = Date.UTC(2026, 0, 1);
  const stamp = (record: Buffer, unixMs: number) => {
    record.writeBigUInt64BE(2n ** 62n + 37n + BigInt(Math.floor(unixMs / 1000)), 0);
    record.writeUInt32BE((unixMs % 1000) * 1e6, 8);
  };

  it("decodes the 43-byte layout of s6 2.12+ (pid, process group, wait status, flags)", () => {
    const record = Buffer.alloc(43);
    stamp(record, now - 5_000);
    record.writeBigUInt64BE(4242n, 24);
    record.writeBigUInt64BE(4242n, 32);
    record[42] = 4 | 8;
    expect(decodeSupervisorStatus("svc", record, now)).toEqual({
      name: "svc",
      state: "up",
      wantUp: true,
      ready: true,
      pid: 4242,
      seconds: 5,
      exitCode: null,
      signal: null,
    });
    const killed = Buffer.alloc(43);
    stamp(killed, now - 2_000);
    killed.writeUInt16BE(9, 40); // killed by SIGKILL
    killed[42] = 4;
    expect(decodeSupervisorStatus("svc", killed, now)).toMatchObject({
      state: "down",
      wantUp: true,
      ready: false,
      signal: "SIGKILL",
      exitCode: null,
      seconds: 2,
    });
  });

  it("treats a finishing service as down and refuses unknown layouts", () => {
    const finishing = Buffer.alloc(35);
    finishing.writeBigUInt64BE(77n, 24);
    finishing[34] = 2 | 4;
    stamp(finishing, now);
    expect(decodeSupervisorStatus("svc", finishing, now)).toMatchObject({ state: "down", pid: null });
    expect(decodeSupervisorStatus("svc", Buffer.alloc(20), now)).toBeUndefined();
  });
});
