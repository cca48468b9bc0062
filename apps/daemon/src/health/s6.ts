import { constants as fsConstants } from "node:fs";
import { open, readdir, readFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { join } from "node:path";

import type { ServiceStatus } from "@os2/protocol";

import { runCommand } from "../process";

/**
 * Service states for `GET /api/health`, read without starting a process: the control plane, the warm pool
 * and readiness all poll health, and an `s6-svstat` child per probe cost milliseconds each.
 *
 * s6-supervise keeps each service's state in `<servicedir>/supervise/status`, a small binary record it
 * replaces atomically (write `status.new`, rename) on every change; `s6-svstat` only decodes that file. Two
 * layouts exist: 35 bytes (s6 ≤ 2.11, what Debian bookworm ships) and 43 bytes (2.12+, which adds the
 * process group). Both begin with two TAI64N stamps (12 bytes each: when the service last went up or down,
 * and when it became ready), then the pid as a big-endian u64 (0 when down). Then the wait status of the
 * last exit as a big-endian u16, and a flag byte: paused 1, finishing 2, want up 4, ready 8. Any other size
 * falls back to `s6-svstat`.
 *
 * Like `s6-svstat`, a service whose s6-supervise is not running answers `unknown`: its status file is stale.
 * That is checked by opening `supervise/control` (a FIFO s6-supervise reads) for writing without blocking,
 * which fails with ENXIO when nothing reads it. Nothing is written.
 */

const SVSTAT_FIELDS = "up,wantedup,ready,pid,updownfor,exitcode,signal";
/** TAI64 labels are 2^62 + TAI seconds; TAI runs 37 s ahead of Unix time (since 2017). */
const TAI64_UNIX_OFFSET = 2n ** 62n + 37n;
const signalNames = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

const unknown = (name: string): ServiceStatus => ({
  name,
  state: "unknown",
  wantUp: false,
  ready: false,
  pid: null,
  seconds: null,
  exitCode: null,
  signal: null,
});

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

/** Decodes a `supervise/status` record; undefined for a layout this does not know. */
export function decodeSupervisorStatus(name: string, record: Buffer, nowMs = Date.now()): ServiceStatus | undefined {
  if (record.length !== 35 && record.length !== 43) return undefined;
  const pid = Number(record.readBigUInt64BE(24));
  const wstat = record.readUInt16BE(record.length === 35 ? 32 : 40);
  const flags = record[record.length - 1] ?? 0;
  const finishing = (flags & 2) !== 0;
  const up = pid !== 0 && !finishing;
  const stampMs = Number(record.readBigUInt64BE(0) - TAI64_UNIX_OFFSET) * 1000 + record.readUInt32BE(8) / 1e6;
  // The last exit's wait status (Linux encoding): exited with a code, or killed by a signal.
  const termSignal = wstat & 0x7f;
  const exited = !up && termSignal === 0;
  const signaled = !up && termSignal !== 0 && termSignal !== 0x7f;
  return {
    name,
    state: up ? "up" : "down",
    wantUp: (flags & 4) !== 0,
    ready: up && (flags & 8) !== 0,
    pid: up ? pid : null,
    seconds: Math.max(0, Math.floor((nowMs - stampMs) / 1000)),
    exitCode: exited ? (wstat >> 8) & 0xff : null,
    signal: signaled ? (signalNames.get(termSignal) ?? `SIG${termSignal}`) : null,
  };
}

/** Whether an s6-supervise reads this service's control FIFO (s6's own "is it supervised" check). */
async function isSupervised(serviceDir: string): Promise<boolean> {
  try {
    const handle = await open(join(serviceDir, "supervise/control"), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    await handle.close();
    return true;
  } catch {
    return false; // ENXIO: nobody reads it; ENOENT: never supervised.
  }
}

export async function readServiceStatus(scanDir: string, name: string): Promise<ServiceStatus> {
  const serviceDir = join(scanDir, name);
  const record = await readFile(join(serviceDir, "supervise/status")).catch(() => undefined);
  if (!record) return unknown(name);
  const decoded = decodeSupervisorStatus(name, record);
  if (!decoded) return readServiceStatusWithSvstat(scanDir, name);
  return (await isSupervised(serviceDir)) ? decoded : unknown(name);
}

/** The slow path, for a status layout this file does not decode: one `s6-svstat` child. */
export async function readServiceStatusWithSvstat(scanDir: string, name: string): Promise<ServiceStatus> {
  const result = await runCommand("s6-svstat", ["-o", SVSTAT_FIELDS, join(scanDir, name)], { timeoutMs: 2000 });
  const [up, wantUp, ready, pid, seconds, exitCode, signal] = result.stdout.trim().split(/\s+/);
  if (result.code !== 0 || signal === undefined) return unknown(name);
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
