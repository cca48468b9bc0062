import { z } from "zod";

import { oomReportSchema } from "./resources";

/** One s6 service as `s6-svstat` sees it. */
export const serviceStatusSchema = z.object({
  name: z.string(),
  state: z.enum(["up", "down", "unknown"]),
  wantUp: z.boolean(),
  ready: z.boolean(),
  pid: z.number().int().nullable(),
  /** Seconds since the last up/down transition. */
  seconds: z.number().int().nullable(),
  /** Exit code or signal of the last run, when it is down. */
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
});
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

/** `GET /api/health` (public). */
export const healthResponseSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number(),
  services: z.array(serviceStatusSchema),
  /** OOM kills inside the machine; absent from daemons older than this field (see `oomReportSchema`). */
  oom: oomReportSchema.optional(),
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;
