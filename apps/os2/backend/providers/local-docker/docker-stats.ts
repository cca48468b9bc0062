/**
 * Docker's stats stream (`GET /containers/{id}/stats?stream=true`): one JSON object per line, about once a
 * second, for as long as the request stays open. Every byte is treated as hostile:
 *
 * - lines are split with a bounded buffer (a line longer than `MAX_STATS_LINE_BYTES` ends the stream);
 * - each line is parsed with zod field by field, so one odd field costs that figure, not the sample;
 * - every number is clamped to a sane range, and CPU is computed from this reader's own previous sample
 *   (not from the `precpu_stats` the payload claims), so a payload cannot make CPU negative or absurd.
 */
import { z } from "zod";

import type { UsageReading } from "../types";

/** Real lines are 2–6 KiB (more with many networks or CPUs); anything far beyond that is not stats. */
export const MAX_STATS_LINE_BYTES = 256 * 1024;
/** Byte and count figures above this are nonsense (2^53: the largest exact integer). */
const MAX_FIGURE = Number.MAX_SAFE_INTEGER;
/** More CPUs than any host has: an upper bound for cores in use when the payload names none. */
const MAX_CORES = 1024;

const figure = z.number().finite().nonnegative().optional().catch(undefined);

const cpuStatsSchema = z
  .object({
    cpu_usage: z.object({ total_usage: figure }).optional().catch(undefined),
    system_cpu_usage: figure,
    online_cpus: figure,
  })
  .optional()
  .catch(undefined);

/** The fields os2 reads; anything else in the payload is ignored. */
export const dockerStatsSchema = z.object({
  read: z.string().max(64).optional().catch(undefined),
  pids_stats: z.object({ current: figure, limit: figure }).optional().catch(undefined),
  cpu_stats: cpuStatsSchema,
  memory_stats: z
    .object({
      usage: figure,
      limit: figure,
      stats: z.record(z.string().max(64), z.unknown()).optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
});
export type DockerStats = z.infer<typeof dockerStatsSchema>;

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
const bounded = (value: number | undefined, max = MAX_FIGURE) =>
  value === undefined ? null : Math.round(clamp(value, 0, max));

function statNumber(stats: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = stats?.[key];
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Turns parsed stats lines into readings. CPU needs two samples: cores in use are the container's CPU time
 * over the host's CPU time between them, times the host's CPUs (what `docker stats` shows, divided by 100).
 */
export class DockerStatsReader {
  private previous: { total: number; system: number } | null = null;

  /**
   * A reading from one line of the stream, or null when the line is not a stats object at all. `stopped`:
   * Docker keeps the stream open after the container stops, sending samples with a zero time.
   */
  readLine(line: string, now: Date = new Date()): { reading: UsageReading; stopped: boolean } | null {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return null;
    }
    const parsed = dockerStatsSchema.safeParse(json);
    if (!parsed.success) return null;
    const stopped = parsed.data.read?.startsWith("0001-") ?? false;
    return { reading: this.read(parsed.data, now), stopped };
  }

  read(stats: DockerStats, now: Date = new Date()): UsageReading {
    const onlineCpus = stats.cpu_stats?.online_cpus;
    const maxCores = onlineCpus !== undefined && onlineCpus >= 1 ? Math.min(onlineCpus, MAX_CORES) : MAX_CORES;
    const total = stats.cpu_stats?.cpu_usage?.total_usage;
    const system = stats.cpu_stats?.system_cpu_usage;
    let cpuCores: number | null = null;
    if (total !== undefined && system !== undefined) {
      const previous = this.previous;
      this.previous = { total, system };
      if (previous && system > previous.system && total >= previous.total) {
        const cores = ((total - previous.total) / (system - previous.system)) * maxCores;
        cpuCores = Number.isFinite(cores) ? clamp(cores, 0, maxCores) : null;
      }
    }

    const memory = stats.memory_stats;
    // Like `docker stats`: usage without the inactive page cache, which the kernel drops before it OOMs
    // (cgroup v1 names the hierarchy's `total_inactive_file`, v2 `inactive_file`).
    const inactive =
      statNumber(memory?.stats, "total_inactive_file") ?? statNumber(memory?.stats, "inactive_file") ?? 0;
    const usage = memory?.usage;
    const memoryBytes = usage === undefined ? null : bounded(Math.max(0, usage - inactive));

    const at = stats.read ? new Date(stats.read) : now;
    return {
      // A zero time (a stopped container's last sample) or a garbled one: the moment it was read here.
      at: Number.isNaN(at.getTime()) || at.getTime() <= 0 ? now : at,
      cpuCores,
      cpuLimitCores: null,
      memoryBytes,
      memoryLimitBytes: bounded(memory?.limit),
      pids: bounded(stats.pids_stats?.current),
      pidsLimit: bounded(stats.pids_stats?.limit),
      diskBytes: null,
      diskLimitBytes: null,
    };
  }
}

/**
 * Splits a byte stream into lines with a bounded buffer. Throws when a line grows past `maxLineBytes`
 * without a newline, so a hostile or broken stream cannot make the buffer grow without end.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes = MAX_STATS_LINE_BYTES) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, index);
      this.guard(part.length);
      lines.push(Buffer.concat([...this.pending, part]).toString("utf8"));
      this.pending = [];
      this.pendingBytes = 0;
      start = index + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      this.guard(rest.length);
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return lines.filter((line) => line.trim() !== "");
  }

  private guard(adding: number) {
    if (this.pendingBytes + adding > this.maxLineBytes) {
      throw new Error(`A stats line was longer than ${this.maxLineBytes} bytes; the stream was closed.`);
    }
  }
}
