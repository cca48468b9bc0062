import { envApplyRequestSchema } from "@os2/protocol";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";

import { HttpError, parseJsonBody } from "../http/errors";
import type { MachineEnv } from "./machine-env";

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** `PUT /api/env`: the control plane sets the machine's environment (see machine-env.ts). */
export function envRoutes(env: MachineEnv) {
  return new Hono().put(
    "/",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new HttpError(413, "payload_too_large", "body: the environment is over 4 MiB", "body");
      },
    }),
    async (c) => {
      const request = await parseJsonBody(c, envApplyRequestSchema);
      return c.json(await env.apply(request.env));
    },
  );
}
