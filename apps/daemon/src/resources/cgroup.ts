import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import type { CgroupSource, UsageResponse } from "@os2/protocol";

/**
 * The machine's own cgroup, where the kernel keeps its limits, its use and its OOM-kill counter.
 *
 * - **v2** (unified; `cgroup.controllers` at the root): one directory with `memory.events` (`oom_kill N`),
 *   `memory.current`/`memory.max`, `pids.current`/`pids.max`, `cpu.stat` (`usage_usec`) and `cpu.max`.
 * - **v1** (Docker on a cgroup v1 host, as the build machines are): one directory per controller,
 *   `memory/memory.oom_control` (`oom_kill N`), `memory.usage_in_bytes`/`memory.limit_in_bytes`,
 *   `pids/pids.*`, `cpuacct/cpuacct.usage` (ns) and `cpu/cpu.cfs_quota_us`/`cpu.cfs_period_us`.
 *
 * Inside a container each of these is the container's own cgroup, mounted at the root. Outside one (a dev
 * daemon), the process's own cgroup from `/proc/self/cgroup` is used when that directory exists.
 * Every read is one small file and synchronous: these are kernel files, answered from memory.
 */
export type CgroupFiles = {
  source: CgroupSource;
  /** The file holding `oom_kill N`, or undefined when there is none. */
  oomEvents: string | undefined;
  memoryCurrent: string | undefined;
  memoryMax: string | undefined;
  /** `memory.stat`: its `inactive_file` (v2) or `total_inactive_file` (v1) line is page cache the kernel can drop. */
  memoryStat: string | undefined;
  pidsCurrent: string | undefined;
  pidsMax: string | undefined;
  cpuUsage: string | undefined;
  cpuMax: string | undefined;
  /** v1 only: `cpu.cfs_period_us` beside `cpuMax` (`cpu.cfs_quota_us`). */
  cpuPeriod: string | undefined;
};

const NONE: CgroupFiles = {
  source: "none",
  oomEvents: undefined,
  memoryCurrent: undefined,
  memoryMax: undefined,
  memoryStat: undefined,
  pidsCurrent: undefined,
  pidsMax: undefined,
  cpuUsage: undefined,
  cpuMax: undefined,
  cpuPeriod: undefined,
};

/** `/proc/self/cgroup` lines are `id:controllers:path`; v2's is `0::path`. */
export function parseProcSelfCgroup(text: string): { v2: string | undefined; v1: Map<string, string> } {
  let v2: string | undefined;
  const v1 = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers = "", path = "/"] = match;
    if (id === "0" && controllers === "") v2 = path;
    else for (const controller of controllers.split(",")) v1.set(controller, path);
  }
  return { v2, v1 };
}

/** The directory of the process's own cgroup under `mount`, else the mount itself (a container's view). */
function ownDir(mount: string, path: string | undefined, probe: string): string {
  if (path && path !== "/") {
    const own = join(mount, path);
    if (existsSync(join(own, probe))) return own;
  }
  return mount;
}

const ifExists = (file: string) => (existsSync(file) ? file : undefined);

/** Finds the cgroup files; `root` is where cgroupfs is mounted (`/sys/fs/cgroup`). */
export function findCgroupFiles(root: string, procRoot = "/proc"): CgroupFiles {
  let self = { v2: undefined as string | undefined, v1: new Map<string, string>() };
  try {
    self = parseProcSelfCgroup(readFileSync(join(procRoot, "self", "cgroup"), "utf8"));
  } catch {
    // No /proc/self/cgroup: take the mount's root directories.
  }
  if (existsSync(join(root, "cgroup.controllers"))) {
    const dir = ownDir(root, self.v2, "memory.events");
    return {
      source: "cgroup-v2",
      oomEvents: ifExists(join(dir, "memory.events")),
      memoryCurrent: ifExists(join(dir, "memory.current")),
      memoryMax: ifExists(join(dir, "memory.max")),
      memoryStat: ifExists(join(dir, "memory.stat")),
      pidsCurrent: ifExists(join(dir, "pids.current")),
      pidsMax: ifExists(join(dir, "pids.max")),
      cpuUsage: ifExists(join(dir, "cpu.stat")),
      cpuMax: ifExists(join(dir, "cpu.max")),
      cpuPeriod: undefined,
    };
  }
  const memory = join(root, "memory");
  if (!existsSync(join(memory, "memory.oom_control")) && !existsSync(join(memory, "memory.usage_in_bytes"))) {
    return NONE;
  }
  const memoryDir = ownDir(memory, self.v1.get("memory"), "memory.oom_control");
  const pidsDir = ownDir(join(root, "pids"), self.v1.get("pids"), "pids.current");
  const cpuDir = ownDir(join(root, "cpu"), self.v1.get("cpu"), "cpu.cfs_quota_us");
  const cpuacctDir = ownDir(join(root, "cpuacct"), self.v1.get("cpuacct"), "cpuacct.usage");
  return {
    source: "cgroup-v1",
    oomEvents: ifExists(join(memoryDir, "memory.oom_control")),
    memoryCurrent: ifExists(join(memoryDir, "memory.usage_in_bytes")),
    memoryMax: ifExists(join(memoryDir, "memory.limit_in_bytes")),
    memoryStat: ifExists(join(memoryDir, "memory.stat")),
    pidsCurrent: ifExists(join(pidsDir, "pids.current")),
    pidsMax: ifExists(join(pidsDir, "pids.max")),
    cpuUsage: ifExists(join(cpuacctDir, "cpuacct.usage")),
    cpuMax: ifExists(join(cpuDir, "cpu.cfs_quota_us")),
    cpuPeriod: ifExists(join(cpuDir, "cpu.cfs_period_us")),
  };
}

/**
 * The `oom_kill` counter of v2's `memory.events` or v1's `memory.oom_control` (both are `key value` lines):
 * how many processes the OOM killer has killed in this cgroup and below. Undefined when the line is missing
 * (v1 kernels before 4.13 have no `oom_kill`).
 */
export function parseOomKillCount(text: string): number | undefined {
  const match = /^oom_kill (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** A cgroup number: "max" (v2) and v1's "unlimited" (a page-rounded 2^63, or -1 for a quota) are null. */
export function parseLimit(text: string): number | null {
  const value = text.trim().split(/\s+/)[0] ?? "";
  if (value === "max" || value === "" || value === "-1") return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 2 ** 62) return null;
  return n;
}

/** v2 `cpu.max` is `quota period` (quota "max" when unlimited); in CPUs. */
export function parseCpuMaxV2(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (!quota || quota === "max" || !period) return null;
  return Number(quota) / Number(period);
}

/** `usage_usec N` from v2's `cpu.stat`. */
export function parseCpuStatUsage(text: string): number | null {
  const match = /^usage_usec (\d+)$/m.exec(text);
  return match ? Number(match[1]) : null;
}

const read = (file: string | undefined): string | undefined => {
  if (!file) return undefined;
  try {
    return readFileSync(file, "latin1");
  } catch {
    return undefined;
  }
};

export function readOomKillCount(files: CgroupFiles): number | undefined {
  const text = read(files.oomEvents);
  return text === undefined ? undefined : parseOomKillCount(text);
}

const limitOf = (file: string | undefined) => {
  const text = read(file);
  return text === undefined ? null : parseLimit(text);
};

/** CPU time the cgroup has used, in µs: v2 `cpu.stat` `usage_usec`, v1 `cpuacct.usage` (ns). */
function readCpuUsageUsec(files: CgroupFiles): number | null {
  const usage = read(files.cpuUsage);
  if (usage === undefined) return null;
  if (files.source === "cgroup-v2") return parseCpuStatUsage(usage);
  const ns = parseLimit(usage);
  return ns === null ? null : Math.round(ns / 1000);
}

/** What the OOM watch samples at every look to tell an idle machine from a busy one: three small files. */
export type ActivitySample = { cpuUsec: number | null; memoryBytes: number | null; memoryMaxBytes: number | null };

export function readActivity(files: CgroupFiles): ActivitySample {
  const current = limitOf(files.memoryCurrent);
  // The usage counts page cache, which stays after any file work (an install, a build) until the kernel
  // needs the memory: without taking off what it can drop at once, a machine that ever read many files
  // would look near its limit, busy, for good. `docker stats` takes off the same.
  const stat = read(files.memoryStat);
  const reclaimable = stat === undefined ? null : parseInactiveFile(stat, files.source);
  return {
    cpuUsec: readCpuUsageUsec(files),
    memoryBytes: current === null ? null : Math.max(0, current - (reclaimable ?? 0)),
    memoryMaxBytes: limitOf(files.memoryMax),
  };
}

/** Page cache not recently used, which the kernel reclaims first: `inactive_file` (v2), `total_inactive_file` (v1). */
export function parseInactiveFile(text: string, source: CgroupSource): number | null {
  const match = (source === "cgroup-v1" ? /^total_inactive_file (\d+)$/m : /^inactive_file (\d+)$/m).exec(text);
  return match ? Number(match[1]) : null;
}

/** The machine's figures for `GET /api/usage`. */
export function readUsage(files: CgroupFiles): UsageResponse {
  const usageUsec = readCpuUsageUsec(files);
  let maxCpus: number | null = null;
  if (files.source === "cgroup-v2") {
    const max = read(files.cpuMax);
    if (max !== undefined) maxCpus = parseCpuMaxV2(max);
  } else if (files.source === "cgroup-v1") {
    const quota = limitOf(files.cpuMax);
    const period = limitOf(files.cpuPeriod);
    maxCpus = quota !== null && period ? quota / period : null;
  }
  return {
    source: files.source,
    memory: { currentBytes: limitOf(files.memoryCurrent), maxBytes: limitOf(files.memoryMax) },
    pids: { current: limitOf(files.pidsCurrent), max: limitOf(files.pidsMax) },
    cpu: { usageUsec, maxCpus },
  };
}
