import type { PortsResponse } from "@os2/protocol";
import { Hono } from "hono";

import { listeningPorts } from "./listening";

/** `GET /api/ports`: the TCP ports something listens on inside the machine, and by which command. */
export function portsRoutes(procRoot = "/proc") {
  return new Hono().get("/", async (c) => c.json({ ports: await listeningPorts(procRoot) } satisfies PortsResponse));
}
