import type { HealthResponse } from "@os2/protocol";
import { Hono } from "hono";

import type { DaemonConfig } from "../config";
import type { OomMonitor } from "../resources/oom-monitor";
import { readAllServiceStatuses } from "./s6";

const startedAt = new Date();

/**
 * `GET /api/health`: public, so the control plane and load balancers can probe without the token. `oom` is
 * the monitor's report as it stands (kept in memory, rebuilt only when a kill happens): no reads here.
 */
export function healthRoutes(config: DaemonConfig, oom: OomMonitor) {
  return new Hono().get("/", async (c) => {
    const services = await readAllServiceStatuses(config.s6ScanDir);
    const degraded = services.some((s) => s.wantUp && s.state !== "up");
    const body: HealthResponse = {
      status: degraded ? "degraded" : "ok",
      version: config.version,
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.round(process.uptime() * 1000) / 1000,
      services,
      oom: oom.report(),
    };
    return c.json(body);
  });
}
