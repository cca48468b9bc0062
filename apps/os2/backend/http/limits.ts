/**
 * Limits on the API before tRPC reads a byte: a body over 1 MiB, or a batch of more than 20 calls, is
 * refused with 413 and a message saying which limit. (tRPC's own `maxBatchSize` would answer 400.)
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";

export const TRPC_MAX_BATCH = 20;
export const TRPC_MAX_BODY_BYTES = 1024 * 1024;
/** The HTTP API's own routes (files and exec go to the daemon through the door, with the daemon's limits). */
export const API_MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = (message: string) => ({
  error: { message, code: -32600, data: { code: "PAYLOAD_TOO_LARGE", httpStatus: 413 } },
});

export function trpcLimits(): MiddlewareHandler {
  const limitBody = bodyLimit({
    maxSize: TRPC_MAX_BODY_BYTES,
    onError: (c) =>
      c.json(tooLarge(`Request body over ${TRPC_MAX_BODY_BYTES / 1024 / 1024} MiB: send less per call.`), 413),
  });
  return async (c, next) => {
    const calls = c.req.path.slice(c.req.path.indexOf("/api/trpc/") + "/api/trpc/".length).split(",").length;
    if (c.req.query("batch") !== undefined && calls > TRPC_MAX_BATCH) {
      return c.json(
        tooLarge(`A batch may hold at most ${TRPC_MAX_BATCH} calls (this one has ${calls}): split it.`),
        413,
      );
    }
    return limitBody(c, next);
  };
}
