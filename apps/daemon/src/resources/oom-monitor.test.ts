import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { oomReportSchema } from "@os2/protocol";
import { afterAll, describe, expect, it } from "vitest";

import { findCgroupFiles } from "./cgroup";
import { OomMonitor } from "./oom-monitor";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** A machine made of fixture files: a v2 cgroup whose counter we set, and a /proc we add to and take from. */
async function fakeMachine() {
  const root = await mkdtemp(join(tmpdir(), "os2-oom-"));
  const cgroup = join(root, "cgroup");
  const proc = join(root, "proc");
  await cp(join(fixtures, "cgroup-v2"), cgroup, { recursive: true });
  await cp(join(fixtures, "proc"), proc, { recursive: true });
  const lines: string[] = [];
  const monitor = (stateFile: string | undefined = join(root, "state", "oom.json")) =>
    new OomMonitor({
      cgroup: findCgroupFiles(cgroup, proc),
      procRoot: proc,
      stateFile,
      pollMs: 0,
      childOomScoreAdj: 500,
      settleMs: 0,
      log: (line) => lines.push(line),
    });
  return {
    root,
    proc,
    lines,
    monitor,
    setKills: (n: number) =>
      writeFile(join(cgroup, "memory.events"), `low 0\nhigh 0\nmax 9\noom ${n}\noom_kill ${n}\n`),
    kill: (pid: number) => rm(join(proc, String(pid)), { recursive: true }),
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
