import { readdir } from "node:fs/promises";
import { join } from "node:path";

import type { ServiceStatus } from "@os2/protocol";

import { runCommand } from "../process";

const SVSTAT_FIELDS = "up,wantedup,ready,pid,updownfor,exitcode,signal";

/** Lists the service directories s6-svscan watches (dot-directories are s6's own). */
export async function listServices(scanDir: string): Promise<string[]> {
  try {
    const entries = await readdir(scanDir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch {
    return []; // No scan dir: the daemon runs outside the image (dev, tests).
  }
}

export async function readServiceStatus(scanDir: string, name: string): Promise<ServiceStatus> {
  const result = await runCommand("s6-svstat", ["-o", SVSTAT_FIELDS, join(scanDir, name)], { timeoutMs: 2000 });
  const [up, wantUp, ready, pid, seconds, exitCode, signal] = result.stdout.trim().split(/\s+/);
  if (result.code !== 0 || signal === undefined) {
    return {
      name,
      state: "unknown",
      wantUp: false,
      ready: false,
      pid: null,
      seconds: null,
      exitCode: null,
      signal: null,
    };
  }
  const int = (v: string | undefined) => (v === undefined || Number(v) < 0 ? null : Number(v));
  return {
    name,
    state: up === "true" ? "up" : "down",
    wantUp: wantUp === "true",
    ready: ready === "true",
    pid: int(pid),
    seconds: int(seconds),
    exitCode: int(exitCode),
    signal: signal === "NA" ? null : signal,
  };
}

export async function readAllServiceStatuses(scanDir: string): Promise<ServiceStatus[]> {
  const names = await listServices(scanDir);
  return Promise.all(names.map((name) => readServiceStatus(scanDir, name)));
}
