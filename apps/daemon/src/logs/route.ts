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

// Reading only the file's tail keeps a request cheap however large `current` has grown before rotation.
const TAIL_BYTES = 1024 * 1024;

/** `/api/logs`: each s6 service's log, as written by s6-log to `<OS2_LOG_DIR>/<service>/current`. */
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
      const { lines } = parseQuery(c, logsReadQuerySchema);
      const text = await readTail(join(config.logDir, service, "current"));
      if (text === undefined) throw notFound(`no log for service ${service}; GET /api/logs lists them`);
      const all = text.split("\n").filter((line) => line.length > 0);
      const body: LogsReadResponse = { service, lines: all.slice(-lines) };
      return c.json(body);
    });
}

async function readTail(file: string): Promise<string | undefined> {
  const handle = await open(file, "r").catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString("utf8");
    // Drop the first, probably partial, line when we did not start at the beginning.
    return length < size ? text.slice(text.indexOf("\n") + 1) : text;
  } finally {
    await handle.close();
  }
}
