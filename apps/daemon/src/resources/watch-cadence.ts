import type { ActivitySample } from "./cgroup";

/**
 * How often the OOM watch looks (see `OomMonitor`). A look is cheap when hot (about 60 µs), but a look once
 * a second is always cold: on the build machines an idle daemon that did it spent 1–2.5 ms of CPU per
 * second, and an empty 1 s timer alone costs about half of that. So the watch looks at its base cadence
 * (1 s) while the machine is busy and backs off, doubling the wait up to a ceiling (8 s), while it is idle.
 *
 * Idle is safe to back off on because the OOM killer acts only at the memory limit, and reaching it takes
 * memory growth, which takes CPU. The machine is busy when, since the previous look:
 * - processes other than the daemon used at least `BUSY_CPU_FRACTION` of a CPU (the daemon's own requests
 *   and looks are taken out: they are the noise of an idle machine);
 * - its memory grew by at least `growthThreshold` of the limit;
 * - its memory is at least half the limit (a spike from there can reach it within the ceiling);
 * - or the cgroup does not say (no CPU and no memory figures): then nothing tells idle from busy.
 * Requests that start work (exec, terminals, agents) and an exec'd command's foreign SIGKILL bring the
 * watch back at once (`OomMonitor.noteActivity`, `noteKilledChild`), before the next look could tell.
 */
export const BUSY_CPU_FRACTION = 0.02;
const MIN_GROWTH_BYTES = 8 * 1024 * 1024;

/** A look's sample: the cgroup's figures, the daemon's own CPU time (µs) and when (ms, monotonic). */
export type CadenceSample = ActivitySample & { ownCpuUsec: number; atMs: number };

/** Growth that counts as activity: 1/64 of the limit, at least 8 MiB (and 8 MiB without a limit). */
export function growthThreshold(memoryMaxBytes: number | null): number {
  return Math.max(MIN_GROWTH_BYTES, memoryMaxBytes === null ? 0 : memoryMaxBytes / 64);
}

export function machineLooksBusy(previous: CadenceSample | undefined, next: CadenceSample): boolean {
  if (!previous) return true;
  const { memoryBytes, memoryMaxBytes } = next;
  if (next.cpuUsec === null && memoryBytes === null) return true;
  if (next.cpuUsec !== null && previous.cpuUsec !== null) {
    const elapsedUsec = Math.max(1, (next.atMs - previous.atMs) * 1000);
    const others = next.cpuUsec - previous.cpuUsec - (next.ownCpuUsec - previous.ownCpuUsec);
    if (others >= BUSY_CPU_FRACTION * elapsedUsec) return true;
  }
  if (memoryBytes !== null) {
    if (memoryMaxBytes !== null && memoryBytes * 2 >= memoryMaxBytes) return true;
    if (previous.memoryBytes !== null && memoryBytes - previous.memoryBytes >= growthThreshold(memoryMaxBytes)) {
      return true;
    }
  }
  return false;
}

/** The wait before the next look: the base while busy, else double the last wait, up to the ceiling. */
export function nextDelayMs(input: { busy: boolean; lastDelayMs: number; baseMs: number; idleMaxMs: number }): number {
  if (input.busy) return input.baseMs;
  return Math.max(input.baseMs, Math.min(input.idleMaxMs, input.lastDelayMs * 2));
}
