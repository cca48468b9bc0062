import { z } from "zod";

/**
 * `/api/forward/:port/<path>?<query>` reaches `127.0.0.1:<port>/<path>?<query>` inside the machine: plain
 * HTTP (streamed both ways) and any `Upgrade` (WebSockets), through the daemon's one published port.
 * The daemon credential travels in `MACHINE_TOKEN_HEADER` (or the `MACHINE_TOKEN_COOKIE` cookie), so the
 * client's `Authorization` and `?token=` reach the app untouched. Nothing listening: 502 `bad_gateway`.
 */
export const FORWARD_PATH_PREFIX = "/api/forward";

/** The `:port` segment of a forward path: a decimal integer from 1 to 65535. */
export const forwardPortSchema = z
  .string()
  .regex(/^[0-9]{1,5}$/, "must be an integer from 1 to 65535")
  .transform(Number)
  .pipe(z.number().int().min(1, "must be an integer from 1 to 65535").max(65535, "must be an integer from 1 to 65535"));

/**
 * The daemon path that forwards to `path` (path and query, default `/`) on `port` inside the machine:
 * `forwardPath(5173, "/src/main.ts?x=1")` is `/api/forward/5173/src/main.ts?x=1`.
 */
export function forwardPath(port: number, path = "/"): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`port: must be an integer from 1 to 65535, got ${port}`);
  }
  return `${FORWARD_PATH_PREFIX}/${port}${path.startsWith("/") ? path : `/${path}`}`;
}
