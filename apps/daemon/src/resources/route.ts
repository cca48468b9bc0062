import type { OomReport, UsageResponse } from "@os2/protocol";
import { Hono } from "hono";

import { type CgroupFiles, readUsage } from "./cgroup";
import type { OomMonitor } from "./oom-monitor";

/** `GET /api/oom`: the machine's OOM kills. */
export function oomRoutes(oom: OomMonitor) {
  return new Hono().get("/", (c) => c.json(oom.report() satisfies OomReport));
}

/** `GET /api/usage`: memory, processes and CPU against the machine's limits, from its cgroup (a few tiny reads). */
export function usageRoutes(cgroup: CgroupFiles) {
  return new Hono().get("/", (c) => c.json(readUsage(cgroup) satisfies UsageResponse));
}
