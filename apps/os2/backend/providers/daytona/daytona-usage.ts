/**
 * Daytona's figures for a sandbox: `sandbox.getMetricsLatest()`, which the SDK reads from the sandbox's own
 * toolbox (`GET {toolboxProxyUrl}/{id}/system/metrics`). Daytona reports CPU as a percentage of the
 * sandbox's CPUs (`cpuUsedPct` of `cpuCount`), memory and disk as used and total bytes. The answer comes
 * from inside the sandbox, so it is parsed field by field and every number is clamped.
 */
import { z } from "zod";

import type { UsageReading } from "../types";

/** How often the latest metrics are read while someone looks. */
export const DAYTONA_USAGE_INTERVAL_MS = 3_000;

const figure = z.number().finite().nonnegative().optional().catch(undefined);

export const daytonaMetricsSchema = z.object({
  cpuCount: figure,
  cpuUsedPct: figure,
  memUsed: figure,
  memTotal: figure,
  memCache: figure,
  diskUsed: figure,
  diskTotal: figure,
});

const bytes = (value: number | undefined) =>
  value === undefined || value === 0 ? null : Math.round(Math.min(value, Number.MAX_SAFE_INTEGER));

/** A reading from the SDK's metrics object; null when it is not an object at all. */
export function daytonaUsageReading(metrics: unknown, now: Date): UsageReading | null {
  const parsed = daytonaMetricsSchema.safeParse(metrics);
  if (!parsed.success) return null;
  const m = parsed.data;
  // The SDK fills missing figures with 0: a sandbox with zero CPUs or zero memory reports nothing.
  const cpus = m.cpuCount !== undefined && m.cpuCount >= 0.001 ? Math.min(m.cpuCount, 1024) : null;
  const percent = m.cpuUsedPct === undefined ? null : Math.min(100, m.cpuUsedPct);
  const memTotal = bytes(m.memTotal);
  return {
    at: now,
    cpuCores: cpus !== null && percent !== null ? (percent / 100) * cpus : null,
    cpuLimitCores: cpus,
    memoryBytes: memTotal === null || m.memUsed === undefined ? null : Math.round(Math.min(m.memUsed, memTotal)),
    memoryLimitBytes: memTotal,
    pids: null,
    pidsLimit: null,
    diskBytes: m.diskUsed === undefined ? null : Math.round(Math.min(m.diskUsed, Number.MAX_SAFE_INTEGER)),
    diskLimitBytes: bytes(m.diskTotal),
  };
}
