import type { MachineLimits } from "../providers/types.ts";

/** Limits for machines that provider tests create directly: small, but enough for the daemon and a shell. */
export const TEST_LIMITS: MachineLimits = { cpuMillis: 1000, memoryMb: 1024, pids: 512, diskMb: null };
