import { open, readdir } from "node:fs/promises";
import { join } from "node:path";

import {
  type LogsListResponse,
  logsReadQuerySchema,
  type LogsReadResponse,
  tmuxSessionNameSchema,
} from "@os2/protocol";
import { Hono } from "hono";

import type { DaemonConfig } from "../config";
import { notFound, parseOrThrow, parseQuery } from "../http/errors";
import { followLog, readTail } from "./follow";

/**
 * `/api/logs`: each s6 service's log, as written by s6-log to `<OS2_LOG_DIR>/<service>/current`; read once, or
 * followed (`?follow=1`, NDJSON) across s6-log's rotations.
 */
export function logsRoutes(config: DaemonConfig) {
  return new Hono()
    .get("/", async (c) => {
      const entries = await readdir(config.logDir, { withFileTypes: true }).catch(() => []);
      const services = entries
        .filter((e) => e.isDirectory())
        .map((e) => ({ name: e.name, logDir: join(config.logDir, e.name) }));
      const body: LogsListResponse = { services: services.sort((a, b) => a.name.localeCompare(b.name)) };
      return c.json(body);
    })
    .get("/:service", async (c) => {
      // Same charset as tmux names: it keeps `..` and slashes out of the path.
      const service = parseOrThrow(tmuxSessionNameSchema, c.req.param("service"), "service");
      const { lines, follow } = parseQuery(c, logsReadQuerySchema);
      const file = join(config.logDir, service, "current");
      const handle = await open(file, "r").catch(() => undefined);
      if (!handle) throw notFound(`no log for service ${service}; GET /api/logs lists them`);
      if (follow) {
        const body = followLog({ service, file, handle, tailLines: lines, signal: c.req.raw.signal });
        return new Response(body, {
          headers: {
            "content-type": "application/x-ndjson; charset=utf-8",
            "cache-control": "no-store",
            "x-accel-buffering": "no",
          },
        });
      }
      try {
        const body: LogsReadResponse = { service, lines: (await readTail(handle, lines)).lines };
        return c.json(body);
      } finally {
        await handle.close();
      }
    });
}
