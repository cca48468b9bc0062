import { claimRequestSchema, type ClaimResponse } from "@os2/protocol";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";

import type { MachineEnv } from "../env/machine-env";
import type { DaemonCredential } from "../http/auth";
import { HttpError, parseJsonBody } from "../http/errors";

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * `PUT /api/claim`: the control plane hands a warm-pool machine its own token and environment. Only the
 * pool credential (as `Authorization: Bearer`) is accepted, only once: afterwards the machine's token is
 * the only credential, and a claim is refused with any credential (no one can re-claim a machine).
 */
export function claimRoutes(credential: DaemonCredential, env: MachineEnv) {
  let claiming = false;
  return new Hono().put(
    "/",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new HttpError(413, "payload_too_large", "body: the claim is over 4 MiB", "body");
      },
    }),
    async (c) => {
      const bearer = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
      if (!credential.pooled) {
        throw new HttpError(409, "conflict", "this machine is not in the warm pool: it was claimed or never pooled");
      }
      if (!credential.matchesPool(bearer)) {
        throw new HttpError(401, "unauthorized", "a claim needs Authorization: Bearer <the pool credential>");
      }
      if (claiming) throw new HttpError(409, "conflict", "a claim of this machine is in progress");
      claiming = true;
      try {
        const request = await parseJsonBody(c, claimRequestSchema);
        // The environment first: when the token is taken the machine is whole.
        const applied = await env.apply(request.env);
        await credential.claim(request.token);
        return c.json({ claimed: true, keys: applied.keys } satisfies ClaimResponse);
      } finally {
        claiming = false;
      }
    },
  );
}
