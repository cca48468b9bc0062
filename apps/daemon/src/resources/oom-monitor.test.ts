import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { oomReportSchema } from "@os2/protocol";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { findCgroupFiles } from "./cgroup";
import { OomMonitor, type OomMonitorOptions } from "./oom-monitor";
import { readProcesses } from "./processes";

// Every /proc scan, and when (performance.now(), faked in the cadence tests), to count the looks.
const scans = vi.hoisted(() => ({ at: [] as number[] }));
vi.mock("./processes", async (importOriginal) => {
  const original = await importOriginal<typeof import("./processes")>();
  return {
    ...original,
    readProcesses: (...args: Parameters<typeof readProcesses>) => {
      scans.at.push(performance.now());
      return original.readProcesses(...args);
    },
  };
});

const MiB = 1024 * 1024;

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** A machine made of fixture files: a v2 cgroup whose counter we set, and a /proc we add to and take from. */
async function fakeMachine() {
  const root = await mkdtemp(join(tmpdir(), "os2-oom-"));
  const cgroup = join(root, "cgroup");
  const proc = join(root, "proc");
  await cp(join(fixtures, "cgroup-v2"), cgroup, { recursive: true });
  // No page cache to start with: memory.current is all in use.
  await writeFile(join(cgroup, "memory.stat"), "inactive_file 0\n");
  await cp(join(fixtures, "proc"), proc, { recursive: true });
  const lines: string[] = [];
  const monitor = (
    stateFile: string | undefined = join(root, "state", "oom.json"),
    options: Partial<OomMonitorOptions> = {},
  ) =>
    new OomMonitor({
      cgroup: findCgroupFiles(cgroup, proc),
      procRoot: proc,
      stateFile,
      pollMs: 0,
      childOomScoreAdj: 500,
      settleMs: 0,
      log: (line) => lines.push(line),
      ...options,
    });
  let cpuUsec = 8_123_456;
  return {
    root,
    proc,
    lines,
    monitor,
    setKills: (n: number) =>
      writeFile(join(cgroup, "memory.events"), `low 0\nhigh 0\nmax 9\noom ${n}\noom_kill ${n}\n`),
    kill: (pid: number) => rm(join(proc, String(pid)), { recursive: true }),
    /** The machine's memory use (the fixture's limit is 256 MiB). */
    setMemory: (bytes: number) => writeFile(join(cgroup, "memory.current"), `${bytes}\n`),
    /** Of that, page cache the kernel can drop at once (memory.stat's inactive_file). */
    setPageCache: (bytes: number) => writeFile(join(cgroup, "memory.stat"), `inactive_file ${bytes}\n`),
    /** Processes in the machine use this much CPU time. */
    useCpu: (usec: number) => writeFile(join(cgroup, "cpu.stat"), `usage_usec ${(cpuUsec += usec)}\n`),
    /** A container restart: PID 1 started at another time. */
    restartContainer: async () => {
      const stat = await readFile(join(proc, "1/stat"), "utf8");
      await writeFile(join(proc, "1/stat"), stat.replace(" 5412 ", " 8888 "));
    },
  };
}

describe("the OOM watch", () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it("records a kill when oom_kill goes up, naming the process that vanished with the most memory", async () => {
    const m = await fakeMachine();
    roots.push(m.root);
    await m.setKills(0);
    const monitor = m.monitor();
    await monitor.tick();
    expect(monitor.report()).toEqual({ kills: 0, recent: [], source: "cgroup-v2" });

    await m.kill(388);
    await m.setKills(1);
    await monitor.tick();
    const report = oomReportSchema.parse(monitor.report());
    expect(report.kills).toBe(1);
    expect(report.recent).toEqual([{ at: expect.any(String), process: "node", pid: 388, rssBytes: 40000 * 4096 }]);
    expect(Date.now() - Date.parse(report.recent[0]?.at ?? "")).toBeLessThan(5000);
    expect(m.lines.join("\n")).toMatch(/out of memory: the kernel killed node \(pid 388\)/);

    // Nothing new: nothing recorded.
    await monitor.tick();
    expect(monitor.report().kills).toBe(1);
  });

  it("keeps the count across a daemon restart, and counts the kills that happened while it was down", async () => {
    const m = await fakeMachine();
    roots.push(m.root);
    await m.setKills(0);
    const first = m.monitor();
    await first.tick();
    await m.kill(388);
    await m.setKills(1);
    await first.tick();
    first.stop();

    // The daemon is down; the OOM killer takes two more.
    await m.setKills(3);
    const second = m.monitor();
    second.start();
    const report = second.report();
    expect(report.kills).toBe(3);
    expect(report.recent.map((k) => k.process)).toEqual(["node", null, null]);
    expect(m.lines.join("\n")).toMatch(/2 process\(es\) were killed while the daemon was not watching/);

    // A third start sees nothing new.
    const third = m.monitor();
    third.start();
    expect(third.report().kills).toBe(3);
  });

  it("adds a restarted container's kills (its counter starts at 0 again) to the saved total", async () => {
    const m = await fakeMachine();
    roots.push(m.root);
    await m.setKills(2);
    const first = m.monitor();
    first.start();
    expect(first.report().kills).toBe(2); // kills before any daemon counted them
    await m.restartContainer();
    await m.setKills(1);
    const second = m.monitor();
    second.start();
    expect(second.report().kills).toBe(3);
  });

  it("starts from the cgroup's counter when there is no saved state, and writes no file until there is a kill", async () => {
    const m = await fakeMachine();
    roots.push(m.root);
    await m.setKills(0);
    const monitor = m.monitor();
    monitor.start();
    expect(monitor.report().kills).toBe(0);
    await expect(readFile(join(m.root, "state", "oom.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("keeps counting in memory, and says which path it could not write, when the state dir is unusable", async () => {
    const m = await fakeMachine();
    roots.push(m.root);
    await writeFile(join(m.root, "not-a-dir"), "");
    await m.setKills(0);
    const monitor = m.monitor(join(m.root, "not-a-dir", "oom.json"));
    await monitor.tick();
    await m.kill(388);
    await m.setKills(1);
    await monitor.tick();
    expect(monitor.report().kills).toBe(1);
    expect(m.lines.join("\n")).toMatch(/cannot write .*not-a-dir.*; OOM kills are kept in memory only/);
  });
});

describe("the OOM watch's cadence", () => {
  const roots: string[] = [];
  const monitors: OomMonitor[] = [];
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(async () => {
    for (const monitor of monitors.splice(0)) monitor.stop();
    vi.useRealTimers();
    for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
  });

  /** A polling watch (1 s busy, 8 s idle ceiling) over an idle machine: 32 MiB of 256, no CPU used. */
  async function idleMachine() {
    const m = await fakeMachine();
    roots.push(m.root);
    await m.setKills(0);
    await m.setMemory(32 * MiB);
    const monitor = m.monitor(undefined, { pollMs: 1000, idlePollMs: 8000, stateFile: undefined });
    monitors.push(monitor);
    const start = performance.now();
    monitor.start();
    scans.at = [];
    /** The looks (scans of /proc) during the next `ms`, as times since start. */
    const looksDuring = async (ms: number) => {
      const from = scans.at.length;
      await vi.advanceTimersByTimeAsync(ms);
      return scans.at.slice(from).map((t) => Math.round(t - start));
    };
    return { ...m, monitor, looksDuring };
  }
  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - (times[i] ?? 0));

  it("looks at an idle machine less and less often, down to once every 8 s (not every second), and still counts a kill then", async () => {
    const m = await idleMachine();
    const looks = await m.looksDuring(60_000);
    expect(looks).toEqual([1000, 2000, 4000, 8000, 16_000, 24_000, 32_000, 40_000, 48_000, 56_000]);

    await m.kill(388);
    await m.setKills(1);
    await m.looksDuring(8000);
    expect(m.monitor.report().recent).toEqual([expect.objectContaining({ process: "node", pid: 388 })]);
  });

  it("looks once a second again while other processes use CPU, memory grows or is near the limit, and counts a kill within a second", async () => {
    const m = await idleMachine();
    await m.looksDuring(30_000); // backed off to 8 s
    await m.useCpu(400_000); // 5% of a CPU over the 8 s since the last look
    expect(await m.looksDuring(2000)).toEqual([32_000]);
    const busy: number[] = [];
    for (let i = 0; i < 5; i++) {
      await m.useCpu(50_000); // 5% of a CPU each second
      busy.push(...(await m.looksDuring(1000)));
    }
    expect(busy).toEqual([33_000, 34_000, 35_000, 36_000, 37_000]);
    // Idle again: it backs off.
    expect(gaps(await m.looksDuring(30_000)).slice(-2)).toEqual([8000, 8000]);

    await m.setMemory(48 * MiB); // 16 MiB more than at the last look
    const afterGrowth = await m.looksDuring(12_000);
    expect(gaps(afterGrowth)).toContain(1000);

    await m.setMemory(200 * MiB); // over half the limit: stays at once a second while it holds
    await m.looksDuring(8000);
    expect(gaps(await m.looksDuring(10_000))).toEqual(Array(9).fill(1000));
    await m.kill(388);
    await m.setKills(1);
    await m.looksDuring(1050); // the next look, and its settle (0 here) before it names the victim
    expect(m.monitor.report().recent).toEqual([expect.objectContaining({ process: "node", pid: 388 })]);
  });

  it("backs off on a machine whose memory is mostly page cache left by file work, as on one that uses little", async () => {
    const m = await idleMachine();
    // 200 of 256 MiB, 190 of them cache the kernel can drop: 10 MiB in use, far from the limit.
    await m.setPageCache(190 * MiB);
    await m.setMemory(200 * MiB);
    await m.looksDuring(2000);
    expect(gaps(await m.looksDuring(40_000)).slice(-2)).toEqual([8000, 8000]);
  });

  it("looks within a second of a request that starts work, even when backed off", async () => {
    const m = await idleMachine();
    const before = await m.looksDuring(30_000);
    expect(before.at(-1)).toBe(24_000); // the next look is due at 32 s
    m.monitor.noteActivity();
    expect(await m.looksDuring(1000)).toEqual([31_000]);
  });

  it("reports an exec'd command the kernel killed within a fraction of a second, even when backed off", async () => {
    const m = await idleMachine();
    await m.looksDuring(30_000);
    await m.kill(388);
    await m.setKills(1);
    m.monitor.noteKilledChild(388, "node");
    await m.looksDuring(100);
    expect(m.monitor.report().recent).toEqual([expect.objectContaining({ process: "node", pid: 388 })]);
  });

  it("never scans /proc without a kill counter to read", async () => {
    const m = await fakeMachine();
    roots.push(m.root);
    const monitor = new OomMonitor({
      cgroup: findCgroupFiles(join(m.root, "no-cgroup"), m.proc),
      procRoot: m.proc,
      stateFile: undefined,
      pollMs: 1000,
      childOomScoreAdj: 500,
    });
    monitors.push(monitor);
    monitor.start();
    scans.at = [];
    await vi.advanceTimersByTimeAsync(60_000);
    expect(scans.at).toEqual([]);
    expect(monitor.report()).toEqual({ kills: 0, recent: [], source: "none" });
  });
});
