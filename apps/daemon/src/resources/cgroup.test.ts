import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { usageResponseSchema } from "@os2/protocol";
import { afterAll, describe, expect, it } from "vitest";

import {
  findCgroupFiles,
  parseInactiveFile,
  parseOomKillCount,
  parseProcSelfCgroup,
  readActivity,
  readOomKillCount,
  readUsage,
} from "./cgroup";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const noProc = join(fixtures, "no-such-proc");

describe("the machine's cgroup", () => {
  const temp: string[] = [];
  afterAll(async () => {
    for (const dir of temp) await rm(dir, { recursive: true, force: true });
  });

  it("reads the OOM-kill counter from cgroup v2 memory.events (not the `oom` or `max` lines)", () => {
    const files = findCgroupFiles(join(fixtures, "cgroup-v2"), noProc);
    expect(files.source).toBe("cgroup-v2");
    expect(readOomKillCount(files)).toBe(2);
  });

  it("reads the OOM-kill counter from cgroup v1 memory.oom_control", () => {
    const files = findCgroupFiles(join(fixtures, "cgroup-v1"), noProc);
    expect(files.source).toBe("cgroup-v1");
    expect(readOomKillCount(files)).toBe(3);
  });

  it("has no counter when memory.oom_control lacks oom_kill (kernels before 4.13), or there is no cgroupfs", () => {
    expect(parseOomKillCount("oom_kill_disable 0\nunder_oom 0\n")).toBeUndefined();
    const none = findCgroupFiles(join(fixtures, "no-such-cgroup"), noProc);
    expect(none.source).toBe("none");
    expect(readOomKillCount(none)).toBeUndefined();
  });

  it("uses the process's own v2 cgroup when it exists under the mount (no cgroup namespace), else the root", async () => {
    const root = await mkdtemp(join(tmpdir(), "os2-cgroup-"));
    temp.push(root);
    await writeFile(join(root, "cgroup.controllers"), "memory pids\n");
    await writeFile(join(root, "memory.events"), "oom_kill 0\n");
    await mkdir(join(root, "system.slice/docker-abc.scope"), { recursive: true });
    await writeFile(join(root, "system.slice/docker-abc.scope/memory.events"), "oom_kill 4\n");
    const proc = join(root, "proc");
    await mkdir(join(proc, "self"), { recursive: true });

    await writeFile(join(proc, "self/cgroup"), "0::/system.slice/docker-abc.scope\n");
    expect(readOomKillCount(findCgroupFiles(root, proc))).toBe(4);
    // Inside a container with its own cgroup namespace the path is "/": the mount root is the container's.
    await writeFile(join(proc, "self/cgroup"), "0::/\n");
    expect(readOomKillCount(findCgroupFiles(root, proc))).toBe(0);
  });

  it("parses /proc/self/cgroup for v1 controllers and the v2 path", () => {
    const parsed = parseProcSelfCgroup("12:pids:/docker/abc\n4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n");
    expect(parsed.v2).toBe("/");
    expect(Object.fromEntries(parsed.v1)).toEqual({
      pids: "/docker/abc",
      memory: "/docker/abc",
      cpu: "/docker/abc",
      cpuacct: "/docker/abc",
    });
  });

  it("reports v2 usage and limits, with `max` as null", () => {
    const usage = usageResponseSchema.parse(readUsage(findCgroupFiles(join(fixtures, "cgroup-v2"), noProc)));
    expect(usage).toEqual({
      source: "cgroup-v2",
      memory: { currentBytes: 201326592, maxBytes: 268435456 },
      pids: { current: 17, max: null },
      cpu: { usageUsec: 8123456, maxCpus: 1.5 },
    });
  });

  it("reports v1 usage and limits, with v1's unlimited (a page-rounded 2^63, quota -1) as null", () => {
    const usage = usageResponseSchema.parse(readUsage(findCgroupFiles(join(fixtures, "cgroup-v1"), noProc)));
    expect(usage).toEqual({
      source: "cgroup-v1",
      memory: { currentBytes: 3788800, maxBytes: null },
      pids: { current: 3, max: 100 },
      cpu: { usageUsec: 47188, maxCpus: null },
    });
  });

  it("reads reclaimable page cache from memory.stat, and nothing from a file without the line", () => {
    expect(parseInactiveFile("inactive_file 4096\ntotal_inactive_file 8192\n", "cgroup-v2")).toBe(4096);
    expect(parseInactiveFile("inactive_file 4096\ntotal_inactive_file 8192\n", "cgroup-v1")).toBe(8192);
    expect(parseInactiveFile("anon 1\n", "cgroup-v2")).toBeNull();
  });

  it("samples CPU (µs, from v1's ns too) and memory against its limit for the OOM watch's cadence, page cache the kernel can drop left out", () => {
    // memory.current 192 MiB, of which inactive_file 48 MiB: 144 MiB in use.
    expect(readActivity(findCgroupFiles(join(fixtures, "cgroup-v2"), noProc))).toEqual({
      cpuUsec: 8123456,
      memoryBytes: 201326592 - 50331648,
      memoryMaxBytes: 268435456,
    });
    // v1 takes the hierarchy's total_inactive_file (1 MiB), not the cgroup's own inactive_file.
    expect(readActivity(findCgroupFiles(join(fixtures, "cgroup-v1"), noProc))).toEqual({
      cpuUsec: 47188,
      memoryBytes: 3788800 - 1048576,
      memoryMaxBytes: null,
    });
    expect(readActivity(findCgroupFiles(join(fixtures, "no-such-cgroup"), noProc))).toEqual({
      cpuUsec: null,
      memoryBytes: null,
      memoryMaxBytes: null,
    });
  });
});
