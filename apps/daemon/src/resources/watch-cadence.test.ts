import { describe, expect, it } from "vitest";

import { type CadenceSample, machineLooksBusy, nextDelayMs } from "./watch-cadence";

const MiB = 1024 * 1024;
const idle: CadenceSample = {
  cpuUsec: 1_000_000,
  memoryBytes: 32 * MiB,
  memoryMaxBytes: 256 * MiB,
  ownCpuUsec: 0,
  atMs: 0,
};
/** One second later, with these changes. */
const later = (change: Partial<CadenceSample>): CadenceSample => ({ ...idle, atMs: 1000, ...change });

describe("the OOM watch's idea of a busy machine", () => {
  it("is idle when nothing but the daemon itself used CPU (its requests and looks are the idle machine's noise)", () => {
    expect(machineLooksBusy(idle, later({}))).toBe(false);
    expect(machineLooksBusy(idle, later({ cpuUsec: idle.cpuUsec! + 300_000, ownCpuUsec: 300_000 }))).toBe(false);
    expect(machineLooksBusy(idle, later({ cpuUsec: idle.cpuUsec! + 10_000 }))).toBe(false); // 1% of a CPU
  });

  it("is busy when other processes used 2% of a CPU or more since the last look, however long ago", () => {
    expect(machineLooksBusy(idle, later({ cpuUsec: idle.cpuUsec! + 20_000 }))).toBe(true);
    expect(machineLooksBusy(idle, later({ atMs: 8000, cpuUsec: idle.cpuUsec! + 100_000 }))).toBe(false);
    expect(machineLooksBusy(idle, later({ atMs: 8000, cpuUsec: idle.cpuUsec! + 160_000 }))).toBe(true);
  });

  it("is busy when memory grew by 1/64 of the limit (at least 8 MiB), or is at half the limit or more", () => {
    expect(machineLooksBusy(idle, later({ memoryBytes: 39 * MiB }))).toBe(false);
    expect(machineLooksBusy(idle, later({ memoryBytes: 40 * MiB }))).toBe(true);
    const big = { ...idle, memoryMaxBytes: 4096 * MiB };
    expect(machineLooksBusy(big, { ...big, atMs: 1000, memoryBytes: 90 * MiB })).toBe(false); // 58 MiB < 64
    expect(machineLooksBusy(big, { ...big, atMs: 1000, memoryBytes: 96 * MiB })).toBe(true);
    expect(machineLooksBusy({ ...idle, memoryBytes: 128 * MiB }, later({ memoryBytes: 128 * MiB }))).toBe(true);
    // Memory that went down (a process exited, cache dropped) is not activity.
    expect(machineLooksBusy({ ...idle, memoryBytes: 100 * MiB }, later({ memoryBytes: 40 * MiB }))).toBe(false);
  });

  it("is busy when it cannot tell: the first look, or a cgroup without CPU and memory figures", () => {
    expect(machineLooksBusy(undefined, idle)).toBe(true);
    const blind = { cpuUsec: null, memoryBytes: null, memoryMaxBytes: null };
    expect(machineLooksBusy({ ...idle, ...blind }, later(blind))).toBe(true);
    // Memory alone still tells (no CPU figure).
    expect(machineLooksBusy({ ...idle, cpuUsec: null }, later({ cpuUsec: null }))).toBe(false);
  });

  it("waits the base while busy, and doubles the wait up to the ceiling while idle", () => {
    const delays: number[] = [];
    let last = 1000;
    for (let i = 0; i < 6; i++)
      delays.push((last = nextDelayMs({ busy: false, lastDelayMs: last, baseMs: 1000, idleMaxMs: 8000 })));
    expect(delays).toEqual([2000, 4000, 8000, 8000, 8000, 8000]);
    expect(nextDelayMs({ busy: true, lastDelayMs: 8000, baseMs: 1000, idleMaxMs: 8000 })).toBe(1000);
    // A ceiling below the base (OS2_OOM_IDLE_POLL_MS=0) never backs off.
    expect(nextDelayMs({ busy: false, lastDelayMs: 1000, baseMs: 1000, idleMaxMs: 0 })).toBe(1000);
  });
});
