/**
 * Out-of-memory kills in a real container of the sandbox image, limited the way the control plane limits
 * machines (256 MiB of memory and no swap on top of it, a pids and a CPU limit, every capability dropped,
 * no-new-privileges): a command that allocates past the limit is killed by the kernel, the daemon lives on,
 * and its OOM report names the command. The container carries the label `os2-test.sandbox=<run id>` and is
 * removed in afterAll; on a failure its logs are printed.
 *
 * Runs against LOCAL_DOCKER_IMAGE_NAME (default iterate-sandbox:local), built in beforeAll like the other
 * sandbox suites, as the image's own user.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import {
  execResultSchema,
  healthResponseSchema,
  type OomReport,
  oomReportSchema,
  usageResponseSchema,
} from "@os2/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";

import { httpStatus } from "../test-support/http-status.ts";

const execFileAsync = promisify(execFile);
const sandboxDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(sandboxDir, "../../..");
const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local";
const TOKEN = `tok-${randomBytes(8).toString("hex")}`;
const RUN_LABEL = `os2-test.sandbox=${randomBytes(6).toString("hex")}`;
const SERVICE = "/opt/os2/services/iterate-server";
const MEMORY = 256 * 1024 * 1024;

/** Allocates 1 MiB after 1 MiB as fast as it can: the limit is reached in well under the daemon's 1 s poll. */
const FAST_HOG = "const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))";
/** Allocates 4 MiB every 100 ms, so it lives a few seconds: long enough to be in the daemon's snapshots. */
const SLOW_HOG = "const a=[];setInterval(()=>a.push(Buffer.alloc(4<<20,1)),100)";

const docker = async (...args: string[]) =>
  (await execFileAsync("docker", args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

function runStreaming(command: string, args: string[], cwd = repoRoot): Promise<number> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, stdio: "inherit" });
    child.on("close", (code) => done(code ?? 1));
  });
}

async function pollUntil<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("sandbox image: out of memory", () => {
  let id: string;
  let base: string;
  const call = (path: string, json?: unknown) =>
    fetch(`${base}${path}`, {
      method: json === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
  const oom = async (): Promise<OomReport> => oomReportSchema.parse(await (await call("/api/oom")).json());
  const daemonPid = async () => Number(await docker("exec", id, "s6-svstat", "-o", "pid", SERVICE));
  const waitForHealth = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while ((await httpStatus(`${base}/api/health`, { timeoutMs: 500 })) !== 200) {
      if (Date.now() > deadline) throw new Error(`no healthy daemon at ${base} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    expect(await runStreaming("bash", [join(repoRoot, "scripts/ensure-docker.sh")])).toBe(0);
    expect(
      await runStreaming("npx", ["tsx", join(sandboxDir, "build-local-image.ts")], resolve(sandboxDir, "..")),
    ).toBe(0);
    id = await docker(
      "run",
      "-d",
      "--label",
      RUN_LABEL,
      "--memory",
      String(MEMORY),
      "--memory-swap",
      String(MEMORY),
      "--pids-limit",
      "256",
      "--cpus",
      "1.5",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "-p",
      "127.0.0.1:0:3000",
      "-e",
      `MACHINE_AUTH_TOKEN=${TOKEN}`,
      IMAGE,
    );
    base = `http://127.0.0.1:${(await docker("port", id, "3000/tcp")).split("\n")[0]?.split(":").pop()}`;
    await waitForHealth(15_000);
  });

  afterAll(async () => {
    if (id) await docker("rm", "-f", id).catch(() => "");
  });

  afterEach(() => {
    onTestFailed(async () => {
      if (id) console.error(`[oom test] container ${id} logs:\n${await docker("logs", id).catch(() => "(gone)")}`);
    });
  });

  it("reports the machine's limits from its cgroup, and no OOM kills yet", async () => {
    const usage = usageResponseSchema.parse(await (await call("/api/usage")).json());
    expect(usage.source).not.toBe("none");
    expect(usage.memory.maxBytes).toBe(MEMORY);
    expect(usage.memory.currentBytes).toBeGreaterThan(0);
    expect(usage.pids).toMatchObject({ max: 256 });
    expect(usage.pids.current).toBeGreaterThan(3);
    expect(usage.cpu.maxCpus).toBe(1.5);
    expect(usage.cpu.usageUsec).toBeGreaterThan(0);
    expect(await oom()).toEqual({ kills: 0, recent: [], source: usage.source });
  });

  it("starts exec commands with oom_score_adj 500 while the daemon keeps its own", async () => {
    const result = execResultSchema.parse(
      await (await call("/api/exec", { command: "cat", args: ["/proc/self/oom_score_adj"] })).json(),
    );
    expect(result.stdout).toBe("500\n");
    expect(await docker("exec", id, "cat", `/proc/${await daemonPid()}/oom_score_adj`)).toBe("0");
  });

  it("lets the kernel kill an exec'd command that allocates past the limit, survives it, and names it", async () => {
    const before = await daemonPid();
    const res = await call("/api/exec", { command: "node", args: ["-e", FAST_HOG], timeoutMs: 60_000 });
    expect(res.status).toBe(200);
    const result = execResultSchema.parse(await res.json());
    expect(result).toMatchObject({ exitCode: 137, signal: "SIGKILL", timedOut: false });

    // The daemon answered that response, and it is still the same process: it was not the one killed.
    expect(await httpStatus(`${base}/api/health`)).toBe(200);
    expect(await daemonPid()).toBe(before);

    const report = await pollUntil(oom, (r) => r.kills >= 1, 5000);
    expect(report.kills).toBeGreaterThanOrEqual(1);
    expect(report.recent.at(-1)).toMatchObject({ process: "node", pid: expect.any(Number) });
    const health = healthResponseSchema.parse(await (await fetch(`${base}/api/health`)).json());
    expect(health.status).toBe("ok");
    expect(health.oom).toEqual(report);
  });

  it("names a process in a tmux session (not the daemon's child) from its snapshots of the processes", async () => {
    const kills = (await oom()).kills;
    const session = await call("/api/tmux/sessions", { name: "hog", command: `node -e '${SLOW_HOG}'` });
    expect(session.status).toBe(201);
    const report = await pollUntil(oom, (r) => r.kills > kills, 30_000);
    expect(report.kills).toBe(kills + 1);
    expect(report.recent.at(-1)).toMatchObject({ process: "node", pid: expect.any(Number) });
    expect(report.recent.at(-1)?.rssBytes).toBeGreaterThan(0);
    expect(await httpStatus(`${base}/api/health`)).toBe(200);
  });

  it("keeps the OOM count and the recent kills across a daemon restart", async () => {
    const before = await oom();
    expect(before.kills).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 1100)); // s6 delays restarts of services that lived under 1 s
    const pid = await daemonPid();
    await docker("exec", id, "kill", "-9", String(pid));
    await pollUntil(daemonPid, (p) => p > 0 && p !== pid, 5000);
    await waitForHealth(5000);
    expect(await oom()).toEqual(before);
  });
});
